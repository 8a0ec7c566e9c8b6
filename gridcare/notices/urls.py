from django.urls import URLPattern, URLResolver, path

from gridcare.notices import views

app_name = "notices"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.outages, name="outages"),
    path("outages/new/", views.outage_new, name="outage_new"),
    path("outages/<int:pk>/", views.outage_detail, name="outage"),
    path("outages/<int:pk>/publish/", views.outage_publish, name="outage_publish"),
    path("outages/<int:pk>/window/", views.outage_window, name="outage_window"),
    path("outages/<int:pk>/cancel/", views.outage_cancel, name="outage_cancel"),
    path("sent/<int:pk>/", views.notice_detail, name="notice"),
    path("announce/", views.announce, name="announce"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="follow_up_done"),
    path("templates/", views.templates, name="templates"),
    path("templates/<str:kind>/<str:channel>/", views.template_edit, name="template"),
    path("customers/<str:account_no>/", views.customer_fragment, name="customer"),
    path("portal/<str:token>/", views.portal, name="portal"),
    path("public/", views.public_page, name="public"),
    path("public/outages.json", views.public_json, name="public_json"),
    path("public/outages.ics", views.public_ics, name="public_ics"),
]
