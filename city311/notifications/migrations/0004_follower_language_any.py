from django.db import migrations, models


class Migration(migrations.Migration):
    """The offered languages are a setting (CITY311_LANGUAGES), checked at input."""

    dependencies = [("notifications", "0003_follower_channels")]

    operations = [
        migrations.AlterField(
            model_name="follower",
            name="language",
            field=models.CharField(default="en", max_length=8),
        ),
    ]
