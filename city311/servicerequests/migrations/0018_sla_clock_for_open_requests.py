from django.db import migrations
from django.db.models import F, Q


def look_at_open_requests(apps, schema_editor):
    # Requests open at the upgrade get their escalation levels like new ones: the sweep looks
    # at each once and records the levels already reached (imported history never escalates).
    ServiceRequest = apps.get_model("servicerequests", "ServiceRequest")
    ServiceRequest.objects.filter(due_at__isnull=False).exclude(
        Q(status="closed") | Q(channel="import")
    ).update(escalation_due_at=F("requested_at"))


class Migration(migrations.Migration):
    dependencies = [("servicerequests", "0017_sla_clock_and_escalation")]

    operations = [migrations.RunPython(look_at_open_requests, migrations.RunPython.noop)]
