from django.urls import path

from city311.reports import opendata_views as views

app_name = "opendata"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:code>/", views.dictionary, name="dictionary"),
    path("<slug:code>/download", views.download, name="download"),
]
