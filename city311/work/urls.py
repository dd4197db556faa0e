from django.urls import path

from city311.work import views

app_name = "work"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("map.geojson", views.queue_map, name="map"),
    path("export.csv", views.export, name="export"),
    path("views/", views.save_view, name="save_view"),
    path("views/<int:pk>/delete", views.delete_view, name="delete_view"),
    path("bulk", views.bulk, name="bulk"),
    path("board/", views.board, name="board"),
    path("today/", views.today, name="today"),
    path("today/<str:tracking_number>/", views.crew, name="crew"),
    path("today/<str:tracking_number>/<str:action>", views.crew_act, name="crew_act"),
    path(
        "today/<str:tracking_number>/orders/<int:number>/<str:action>",
        views.crew_order,
        name="crew_order",
    ),
    path("requests/<str:tracking_number>/", views.detail, name="detail"),
    path("requests/<str:tracking_number>/<str:action>", views.act, name="act"),
]
