from django.urls import path

from city311.portal import api, help, public, report, views

app_name = "portal"
urlpatterns = [
    path("report/", report.start, name="report"),
    path("report/done/<str:tracking_number>/", report.done, name="report_done"),
    path("report/<str:service_code>/", report.report_type, name="report_type"),
    path("report/<str:service_code>/photo/<int:index>", report.photo, name="report_photo"),
    path("report/<str:service_code>/<str:step>/", report.step, name="report_step"),
    path("help/", help.index, name="help"),
    path("help/preview/<int:pk>/", help.preview, name="help_preview"),
    path("help/<slug:slug>/", help.article, name="help_article"),
    path("track/", views.track, name="track"),
    path("track/<str:tracking_number>", views.public_request, name="request"),
    path("track/<str:tracking_number>/follow", public.follow, name="follow"),
    path("track/<str:tracking_number>/reopen", public.reopen, name="reopen"),
    path("requests/", views.recent, name="recent"),
    path("offline/", views.offline, name="offline"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("api/services/suggest", api.suggest_services, name="suggest_services"),
    path("api/geocode", api.geocode, name="geocode"),
    path("api/autocomplete", api.autocomplete, name="autocomplete"),
    path("api/reverse", api.reverse, name="reverse"),
    path("api/duplicates", api.duplicates, name="duplicates"),
    path("api/city-limits.geojson", api.city_limits, name="city_limits"),
    path("api/map/around.geojson", api.map_around, name="map_around"),
    path("api/requests.geojson", api.recent_requests_geojson, name="requests_geojson"),
]
