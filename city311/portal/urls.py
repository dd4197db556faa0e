from django.urls import path

from city311.portal import api, views

app_name = "portal"
urlpatterns = [
    path("track/", views.track, name="track"),
    path("track/<str:tracking_number>", views.public_request, name="request"),
    path("api/services/suggest", api.suggest_services, name="suggest_services"),
    path("api/geocode", api.geocode, name="geocode"),
    path("api/autocomplete", api.autocomplete, name="autocomplete"),
    path("api/reverse", api.reverse, name="reverse"),
    path("api/duplicates", api.duplicates, name="duplicates"),
]
