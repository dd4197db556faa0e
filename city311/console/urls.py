from django.urls import path

from city311.console import views

app_name = "console"
urlpatterns = [
    path("", views.choose_type, name="start"),
    path("new/<str:service_code>/", views.new_request, name="new"),
    path("filed/<str:tracking_number>/", views.filed, name="filed"),
    path("follow/<str:tracking_number>/", views.follow_instead, name="follow"),
]
