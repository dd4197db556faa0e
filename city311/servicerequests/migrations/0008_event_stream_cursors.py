import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """The event stream's per-consumer cursors (servicerequests/stream.py)."""

    dependencies = [("servicerequests", "0007_contact_language_any")]

    operations = [
        migrations.CreateModel(
            name="ConsumerCursor",
            fields=[
                ("name", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("done_upto", models.BigIntegerField(default=0)),
                ("settled_upto", models.BigIntegerField(default=0)),
                ("seen_upto", models.BigIntegerField(default=0)),
                ("seen_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("failed_at", models.DateTimeField(blank=True, null=True)),
                ("error", models.TextField(blank=True)),
            ],
        ),
        migrations.CreateModel(
            name="ConsumedEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("consumer", models.CharField(max_length=40)),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="servicerequests.requestevent",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("consumer", "event"), name="consumed_once")
                ],
            },
        ),
    ]
