from django.urls import path

from city311.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("actions/", views.actions_taken, name="actions"),
    path("heat/", views.heat_map, name="heat"),
    path("monthly/", views.monthly_report, name="monthly"),
    path("monthly.csv", views.monthly_report, {"fmt": "csv"}, name="monthly_csv"),
    path("contacts/", views.contact_totals, name="contacts"),
    path("contacts.csv", views.contact_totals, {"fmt": "csv"}, name="contacts_csv"),
    path("monthly.pdf", views.monthly_report, {"fmt": "pdf"}, name="monthly_pdf"),
]
