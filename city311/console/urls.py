from django.urls import path

from city311.console import calls, knowledge, pickups, views

app_name = "console"
urlpatterns = [
    path("", views.choose_type, name="start"),
    path("new/<str:service_code>/", views.new_request, name="new"),
    path("filed/<str:tracking_number>/", views.filed, name="filed"),
    path("follow/<str:tracking_number>/", views.follow_instead, name="follow"),
    path("caller/", calls.caller, name="caller"),
    path("card/", calls.card, name="card"),
    path("desk/", calls.choose_desk, name="desk"),
    path("popped/", calls.popped, name="popped"),
    path("popped/stream/", calls.call_stream, name="call_stream"),
    path("supervisor/", calls.supervisor, name="supervisor"),
    path("supervisor/stream/", calls.supervisor_stream, name="supervisor_stream"),
    path("callbacks/", calls.callback_queue, name="callbacks"),
    path("callbacks/<int:pk>/called-back/", calls.called_back, name="called_back"),
    path("wrap-up/", calls.wrap_up, name="wrap_up"),
    path("answered/<slug:slug>/", calls.answered, name="answered"),
    path("pickups/", pickups.lookup, name="pickups"),
    path("answers/", knowledge.panel, name="answers"),
    path("answers/stale/", knowledge.stale, name="stale"),
    path("answers/gaps/", knowledge.gaps, name="gaps"),
    path("answers/<slug:slug>/", knowledge.article, name="article"),
    path("answers/<slug:slug>/used", knowledge.use, name="article_used"),
]
