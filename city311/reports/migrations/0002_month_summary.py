"""The month summaries (reports.models.MonthSummary), filled from the month totals already
counted, so a database whose rollups were kept before reads the same answers at once."""

from django.db import migrations, models


def fill(apps, schema_editor):
    # On an empty database there is nothing to sum (city311.ops.schema lists this as such).
    from city311.reports.rollup import SUMMARISE_SQL

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SUMMARISE_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='MonthSummary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('type_id', models.IntegerField()),
                ('department_id', models.IntegerField()),
                ('team_id', models.IntegerField()),
                ('channel', models.CharField(max_length=12)),
                ('urgent', models.BooleanField()),
                ('area_kind', models.CharField(max_length=30)),
                ('area_code', models.CharField(max_length=60)),
                ('received', models.IntegerField(default=0)),
                ('closed', models.IntegerField(default=0)),
                ('closed_target', models.IntegerField(default=0)),
                ('closed_on_time', models.IntegerField(default=0)),
                ('closed_reopened', models.IntegerField(default=0)),
                ('closed_seconds', models.FloatField(default=0)),
                ('open_now', models.IntegerField(default=0)),
                ('open_due', models.IntegerField(default=0)),
                ('responded', models.IntegerField(default=0)),
                ('close_h0', models.IntegerField(default=0)),
                ('close_h1', models.IntegerField(default=0)),
                ('close_h2', models.IntegerField(default=0)),
                ('close_h3', models.IntegerField(default=0)),
                ('close_h4', models.IntegerField(default=0)),
                ('close_h5', models.IntegerField(default=0)),
                ('close_h6', models.IntegerField(default=0)),
                ('close_h7', models.IntegerField(default=0)),
                ('close_h8', models.IntegerField(default=0)),
                ('close_h9', models.IntegerField(default=0)),
                ('close_h10', models.IntegerField(default=0)),
                ('close_h11', models.IntegerField(default=0)),
                ('response_h0', models.IntegerField(default=0)),
                ('response_h1', models.IntegerField(default=0)),
                ('response_h2', models.IntegerField(default=0)),
                ('response_h3', models.IntegerField(default=0)),
                ('response_h4', models.IntegerField(default=0)),
                ('response_h5', models.IntegerField(default=0)),
                ('response_h6', models.IntegerField(default=0)),
                ('response_h7', models.IntegerField(default=0)),
                ('response_h8', models.IntegerField(default=0)),
                ('response_h9', models.IntegerField(default=0)),
                ('response_h10', models.IntegerField(default=0)),
                ('response_h11', models.IntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['area_kind', 'day'], name='monthsummary_kind_day')],
                'constraints': [models.UniqueConstraint(fields=('area_kind', 'area_code', 'day', 'type_id', 'department_id', 'team_id', 'channel', 'urgent'), name='monthsummary_one_cut')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
