from django.db import migrations, models


class Migration(migrations.Migration):
    """The offered languages are a setting (CITY311_LANGUAGES), checked at input."""

    dependencies = [("servicerequests", "0006_idempotency_key")]

    operations = [
        migrations.AlterField(
            model_name="contact",
            name="language",
            field=models.CharField(default="en", max_length=8),
        ),
    ]
