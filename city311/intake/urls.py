from django.urls import URLPattern, URLResolver, path

from city311.intake import mailviews

app_name = "intake"

urlpatterns: list[URLPattern | URLResolver] = [
    path("mail/", mailviews.waiting, name="mail_waiting"),
    path("mail/<int:pk>/release/", mailviews.release, name="mail_release"),
    path("mail/<int:pk>/take/", mailviews.take, name="mail_take"),
    path("mail/<int:pk>/publish/", mailviews.publish, name="mail_publish"),
]
