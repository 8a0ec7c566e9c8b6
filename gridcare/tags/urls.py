from django.urls import URLPattern, URLResolver

app_name = "tags"
urlpatterns: list[URLPattern | URLResolver] = []
