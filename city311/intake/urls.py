from django.urls import URLPattern, URLResolver, path

from city311.intake import mailviews, views_phone

app_name = "intake"

urlpatterns: list[URLPattern | URLResolver] = [
    path("mail/", mailviews.waiting, name="mail_waiting"),
    path("mail/<int:pk>/release/", mailviews.release, name="mail_release"),
    path("mail/<int:pk>/take/", mailviews.take, name="mail_take"),
    path("mail/<int:pk>/publish/", mailviews.publish, name="mail_publish"),
    # The phone tree (Twilio voice webhooks); texts come to notifications/sms/twilio.
    path("voice", views_phone.incoming, name="voice"),
    path("voice/language", views_phone.language, name="voice_language"),
    path("voice/menu", views_phone.menu, name="voice_menu"),
    path("voice/status", views_phone.status, name="voice_status"),
    path("voice/status/text", views_phone.status_text, name="voice_status_text"),
    path("voice/pickup", views_phone.pickup, name="voice_pickup"),
    path("voice/pickup/street", views_phone.pickup_street, name="voice_pickup_street"),
    path("voice/facility", views_phone.facility, name="voice_facility"),
    path("voice/voicemail", views_phone.voicemail, name="voice_voicemail"),
    path("voice/transcription", views_phone.transcription, name="voice_transcription"),
]
