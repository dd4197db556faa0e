from django.urls import path

from city311.contacts import views, webhook

app_name = "contacts"
urlpatterns = [
    path("calls/events", webhook.call_event, name="call_event"),
    path("hours.json", views.hours_now, name="hours"),
]
