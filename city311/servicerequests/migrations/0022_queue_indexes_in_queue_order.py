# The work queue at a million requests (bench/work_queue.py): the type, status and escalation
# band filters each read an index in queue order, and the live queue by date received and
# changed an index of live work only, rather than sorting many rows or walking closed ones.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0009_classifier'),
        ('servicerequests', '0021_sms_and_web_chat_channels'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='servicerequest',
            name='sr_escalated_queue',
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(condition=models.Q(models.Q(('status', 'closed'), _negated=True), ('escalation_level__gt', 0), ('escalation_level__lt', 100)), fields=['-urgent', 'due_at'], name='sr_warned_queue'),
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(condition=models.Q(models.Q(('status', 'closed'), _negated=True), ('escalation_level__gte', 100), ('escalation_level__lt', 300)), fields=['-urgent', 'due_at'], name='sr_breached_queue'),
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(condition=models.Q(models.Q(('status', 'closed'), _negated=True), ('escalation_level__gte', 300)), fields=['-urgent', 'due_at'], name='sr_way_overdue_queue'),
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(condition=models.Q(('status', 'closed'), _negated=True), fields=['service_type', '-urgent', 'due_at'], name='sr_type_queue'),
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(condition=models.Q(('status', 'closed'), _negated=True), fields=['status', '-urgent', 'due_at'], name='sr_status_queue'),
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(condition=models.Q(models.Q(('status', 'closed'), _negated=True), ('historical', False)), fields=['requested_at'], name='sr_live_requested_at'),
        ),
        migrations.AddIndex(
            model_name='servicerequest',
            index=models.Index(condition=models.Q(models.Q(('status', 'closed'), _negated=True), ('historical', False)), fields=['updated_at'], name='sr_live_updated_at'),
        ),
    ]
