from django.urls import path

from gridcare.workorders import views

app_name = "workorders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.intake, name="intake"),
    path("visits/", views.visits, name="visits"),
    path("panel/<str:account_no>/", views.customer_panel, name="panel"),
    path("customers/<str:account_no>/", views.customer_orders_fragment, name="customer_orders"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/actions/<str:action>/", views.order_action, name="action"),
    path("<str:number>/visit/", views.visit_record, name="visit"),
]
