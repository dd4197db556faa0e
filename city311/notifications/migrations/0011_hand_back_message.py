# A work order handed back is a message staff hear of, rewordable like the others.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0010_reminder_day'),
    ]

    operations = [
        migrations.AlterField(
            model_name='messagetemplate',
            name='kind',
            field=models.CharField(choices=[('request.submitted', 'Received'), ('request.routed', 'Routed'), ('request.transferred', 'Transferred'), ('request.started', 'In progress'), ('request.note', 'Public note'), ('request.closed', 'Closed'), ('request.reopened', 'Reopened'), ('request.parent_closed', 'Merged request closed'), ('follow.confirm', 'Follow confirmation'), ('department.urgent', 'Urgent request (to the department)'), ('department.reopened', 'Reopened by the resident (to the department)'), ('request.escalated', 'Escalation (to staff)'), ('request.work_order_handed_back', 'Work order handed back (to staff)')], max_length=40),
        ),
    ]
