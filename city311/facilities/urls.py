from django.urls import path

from city311.facilities import api, views

app_name = "facilities"

urlpatterns = [
    path("facilities/", views.facility_list, name="list"),
    path("facilities/answer", views.answer, name="answer"),
    path("facilities/<slug:slug>/", views.facility, name="facility"),
    path("facilities/<slug:slug>/events.ics", views.facility_ics, name="facility_ics"),
    path("events/", views.event_list, name="events"),
    path("events.ics", views.events_ics, name="events_ics"),
    path("events/category/<slug:category>.ics", views.category_ics, name="category_ics"),
    path("events/<slug:slug>/", views.event, name="event"),
    path("today/", views.today, name="today"),
    path("today.json", views.today_json, name="today_json"),
    path("today.ics", views.today_ics, name="today_ics"),
    path("today.rss", views.today_rss, name="today_rss"),
    path("api/inquiry/v1/facilities/<slug:name>.json", api.facilities, name="inquiry_facilities"),
]
