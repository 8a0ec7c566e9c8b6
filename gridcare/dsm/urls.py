from django.urls import URLPattern, URLResolver, path

from gridcare.dsm import views

app_name = "dsm"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("plotly.min.js", views.plotly_js, name="plotly_js"),
    path("customers/<str:account_no>/load", views.customer_load, name="customer_load"),
    path("customers/<str:account_no>/load/fragment", views.customer_load_fragment, name="customer_load_fragment"),
    path("feeders/<str:code>/load", views.feeder_load, name="feeder_load"),
    path("plans/", views.plans, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/event/", views.plan_to_event, name="plan_to_event"),
    path("events/<str:event_id>/", views.event_detail, name="event"),
    path("events/<str:event_id>/status/", views.event_status, name="event_status"),
    path("events/<str:event_id>/participants/<str:account_no>/opt/", views.event_opt, name="event_opt"),
    path("events/<str:event_id>/measure/", views.event_measure, name="event_measure"),
]
