"""One index fewer for every filing and every import to write: sr_type_status (type, status).

Every query it served is as fast from an index kept (EXPLAIN ANALYZE at a million requests):
the work queue's type filter reads sr_type_queue when not closed and sr_type_requested_at for
any status or closed (page 0.1 ms, capped count 1 ms), Open311's service_code with status
reads sr_type_requested_at in its date order, as it did (2 ms), and a type's PROTECT check on
delete finds its requests there (34 ms). The capped counts that took it as the smallest index
at hand (status closed: 0.2 ms) read another (0.3 ms).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("servicerequests", "0025_board_index")]

    operations = [migrations.RemoveIndex(model_name="servicerequest", name="sr_type_status")]
