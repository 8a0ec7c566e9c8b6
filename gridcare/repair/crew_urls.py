from django.urls import path

from gridcare.repair import views

app_name = "crew"
urlpatterns = [path("", views.crew, name="home")]
