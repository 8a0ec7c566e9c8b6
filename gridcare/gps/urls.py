from django.urls import URLPattern, URLResolver, path

from gridcare.gps import views

app_name = "gps"
urlpatterns: list[URLPattern | URLResolver] = [
    path("osmand", views.osmand, name="osmand"),
    path("osmand/", views.osmand),  # a server URL typed with a trailing slash in the phone app
]
