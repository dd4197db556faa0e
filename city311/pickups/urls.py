from django.urls import path

from city311.pickups import booking_views, staff, views

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
]
