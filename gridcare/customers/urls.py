from django.urls import path

from gridcare.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.search, name="search"),
    path("<str:account_no>/", views.detail, name="detail"),
]
