from django.urls import path

from city311.work import views

app_name = "work"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("requests/<str:tracking_number>/", views.detail, name="detail"),
    path("requests/<str:tracking_number>/<str:action>", views.act, name="act"),
]
