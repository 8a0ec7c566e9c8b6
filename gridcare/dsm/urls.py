from django.urls import URLPattern, URLResolver, path

from gridcare.dsm import views

app_name = "dsm"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("plotly.min.js", views.plotly_js, name="plotly_js"),
    path("customers/<str:account_no>/load", views.customer_load, name="customer_load"),
    path("customers/<str:account_no>/load/fragment", views.customer_load_fragment, name="customer_load_fragment"),
    path("feeders/<str:code>/load", views.feeder_load, name="feeder_load"),
]
