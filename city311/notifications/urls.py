from django.urls import path

from city311.notifications import views

app_name = "notifications"
urlpatterns = [
    path("stop/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("confirm/<str:token>", views.confirm, name="confirm"),
    path("survey/<str:token>", views.survey, name="survey"),
    path("sms/twilio", views.twilio_inbound, name="twilio_inbound"),
]
