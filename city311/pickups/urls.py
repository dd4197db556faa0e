from django.urls import path

from city311.pickups import views

app_name = "pickups"
urlpatterns = [
    path("pickups/", views.lookup_page, name="lookup"),
    path("api/pickups", views.lookup_api, name="api"),
]
