from django.urls import path

from city311.accounts import views

app_name = "two_factor"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("verify/", views.verify, name="verify"),
    path("setup/", views.setup, name="setup"),
    path("recovery-codes", views.recovery_codes, name="recovery_codes"),
    path("remove", views.remove, name="remove"),
]
