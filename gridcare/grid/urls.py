from django.urls import path

from gridcare.grid import views

app_name = "grid"
urlpatterns = [
    path("", views.feeders, name="feeders"),
    path("feeders/<str:code>/", views.feeder_detail, name="feeder"),
    path("devices/<str:code>/switch/", views.device_switch, name="device_switch"),
]
