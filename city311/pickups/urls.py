from django.urls import path

from city311.pickups import api, booking_views, staff, subscription_views, views

app_name = "pickups"
urlpatterns = [
    path("pickups/", views.lookup_page, name="lookup"),
    path("api/pickups", views.lookup_api, name="api"),
    path("pickups/calendar/<str:address_id>.ics", views.address_ics, name="address_ics"),
    path("pickups/book/", booking_views.book, name="book"),
    path("pickups/booking/<str:token>/", booking_views.booking_page, name="booking"),
    path("pickups/booking/<str:token>.ics", booking_views.booking_ics, name="booking_ics"),
    path("pickups/staff/", staff.day_list, name="staff"),
    path("pickups/staff/capacity", staff.set_capacity, name="staff_capacity"),
    path("pickups/staff/late", staff.mark_late, name="staff_late"),
    path("pickups/staff/bookings/<int:pk>/close", staff.close_booking, name="staff_close"),
    path("pickups/staff/bookings/<int:pk>/payment", staff.set_payment, name="staff_payment"),
    path("pickups/staff/changes", staff.changes, name="staff_changes"),
    path("pickups/subscribe", subscription_views.subscribe_page, name="subscribe"),
    path(
        "pickups/subscription/confirm/<str:token>",
        subscription_views.confirm,
        name="subscription_confirm",
    ),
    path(
        "pickups/subscription/stop/<str:token>", subscription_views.stop, name="subscription_stop"
    ),
    path("api/pickups/subscriptions", subscription_views.subscribe_api, name="api_subscriptions"),
    path("api/pickups/items", api.items, name="api_items"),
    path("api/pickups/days", api.days, name="api_days"),
    path("api/pickups/bookings", api.bookings, name="api_bookings"),
    path("api/pickups/bookings/<str:token>", api.booking, name="api_booking"),
]
