from django.db import migrations
from django.db.models import Max


def carry_over_the_cursor(apps, schema_editor):
    """Notifications become a consumer of the event stream: it reads on from where the old
    sweep had got to, and skips the events the old handler planned, so nobody is told twice
    and no waiting event is forgotten."""
    SweepCursor = apps.get_model("notifications", "SweepCursor")
    HandledEvent = apps.get_model("notifications", "HandledEvent")
    ConsumerCursor = apps.get_model("servicerequests", "ConsumerCursor")
    ConsumedEvent = apps.get_model("servicerequests", "ConsumedEvent")
    RequestEvent = apps.get_model("servicerequests", "RequestEvent")
    old = SweepCursor.objects.filter(name="events").first()
    if old is not None:
        done = old.done_upto
    else:
        # Never swept: on from the newest event the old handler planned, or the newest event.
        done = (
            HandledEvent.objects.aggregate(top=Max("event_id"))["top"]
            or RequestEvent.objects.aggregate(top=Max("pk"))["top"]
            or 0
        )
    ConsumerCursor.objects.update_or_create(
        name="notifications", defaults={"done_upto": done, "settled_upto": done}
    )
    ConsumedEvent.objects.bulk_create(
        [
            ConsumedEvent(consumer="notifications", event_id=event_id)
            for event_id in HandledEvent.objects.filter(event_id__gt=done).values_list(
                "event_id", flat=True
            )
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_follower_language_any"),
        ("servicerequests", "0008_event_stream_cursors"),
    ]

    operations = [
        migrations.RunPython(carry_over_the_cursor, migrations.RunPython.noop),
        migrations.DeleteModel(name="HandledEvent"),
        migrations.DeleteModel(name="SweepCursor"),
    ]
