from django.urls import path

from gridcare.repair import views

app_name = "repair"
urlpatterns = [
    path("dispatch/", views.dispatch, name="dispatch"),
    path("reports/", views.report, name="report"),
    path("storm/", views.storm, name="storm"),
    path("storm/board/", views.storm_fragment, name="storm_board"),
    path("storm/call/", views.storm_call, name="storm_call"),
]
