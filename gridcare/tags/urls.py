from django.urls import URLPattern, URLResolver, path

from gridcare.tags import views

app_name = "tags"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.catalogue, name="catalogue"),
    path("review/", views.review, name="review"),
    path("runs/<int:run_id>/", views.review, name="run"),
    path("segments/", views.segments, name="segments"),
    path("segments/<int:segment_id>/export.<str:fmt>", views.segment_export, name="segment_export"),
    path("customers/<str:account_no>/", views.customer_portrait, name="portrait"),
]
