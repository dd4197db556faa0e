from django.urls import path

from city311.portal import api, report, views

app_name = "portal"
urlpatterns = [
    path("report/", report.start, name="report"),
    path("report/<str:service_code>/", report.report_type, name="report_type"),
    path("track/", views.track, name="track"),
    path("track/<str:tracking_number>", views.public_request, name="request"),
    path("requests/", views.recent, name="recent"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("api/services/suggest", api.suggest_services, name="suggest_services"),
    path("api/geocode", api.geocode, name="geocode"),
    path("api/autocomplete", api.autocomplete, name="autocomplete"),
    path("api/reverse", api.reverse, name="reverse"),
    path("api/duplicates", api.duplicates, name="duplicates"),
]
