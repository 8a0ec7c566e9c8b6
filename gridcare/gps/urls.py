from django.urls import URLPattern, URLResolver

app_name = "gps"
urlpatterns: list[URLPattern | URLResolver] = []
