from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0003_task_claim"),
    ]

    operations = [
        migrations.CreateModel(
            name="Loading",
            fields=[
                ("name", models.CharField(max_length=60, primary_key=True, serialize=False)),
                ("source", models.CharField(blank=True, max_length=120)),
                ("total", models.PositiveIntegerField()),
                ("resumed_from", models.PositiveIntegerField(default=0)),
                ("done", models.PositiveIntegerField(default=0)),
                ("started_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("failed", models.BooleanField(default=False)),
            ],
            options={
                "verbose_name": "background load",
            },
        ),
    ]
