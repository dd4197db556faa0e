from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from city311.accounts import views as accounts_views
from city311.ops import views as ops_views
from city311.portal import views as portal_views

# Django's own 400 handler reads the body again to check CSRF, and fails again (a 500).
handler400 = "city311.portal.views.bad_request"
handler404 = "city311.portal.views.not_found"
admin.site.site_header = "city311 administration"
admin.site.site_title = "city311"

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("healthz", ops_views.healthz, name="healthz"),
    # Open311 first: the busiest machine clients resolve in a few patterns, not after every
    # page of the portal (its patterns all begin "open311/", but for "api/docs").
    path("", include("city311.open311.urls")),
    # Next "When is my pickup?", the busiest resident lookup: each pattern tried before it is
    # time of every lookup (a fifth of its CPU, bench/pickup_lookup.py --profile). Its paths
    # all begin pickups/ or api/pickups, which nothing else serves.
    path("", include("city311.pickups.urls")),
    path("favicon.ico", ops_views.favicon, name="favicon"),
    path("status/loading/", ops_views.loading, name="loading"),
    path("admin/", admin.site.urls),
    path("accounts/login/", accounts_views.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", include("city311.accounts.urls")),
    path("oidc/", include("city311.accounts.urls_oidc")),
    # New staff from a city pack set their first password here (the link import_city gives).
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("city/", include("city311.cities.urls")),
    path("work/", include("city311.work.urls")),
    path("reports/", include("city311.reports.urls")),
    path("open-data/", include("city311.reports.urls_opendata")),
    path("console/", include("city311.console.urls")),
    path("contacts/", include("city311.contacts.urls")),
    path("intake/", include("city311.intake.urls")),
    path("", include("city311.portal.urls")),
    path("", include("city311.facilities.urls")),
    path("notifications/", include("city311.notifications.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
