from django.urls import path

from city311.cities import views

app_name = "cities"
urlpatterns = [
    path("logo", views.logo, name="logo"),
    path("brand.css", views.brand_css, name="brand_css"),
]
