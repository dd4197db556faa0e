from django.urls import path

from city311.contacts import webhook

app_name = "contacts"
urlpatterns = [path("calls/events", webhook.call_event, name="call_event")]
