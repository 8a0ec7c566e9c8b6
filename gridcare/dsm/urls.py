from django.urls import URLPattern, URLResolver

app_name = "dsm"
urlpatterns: list[URLPattern | URLResolver] = []
