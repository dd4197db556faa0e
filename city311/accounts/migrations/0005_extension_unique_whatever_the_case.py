# The phone system's extension or agent id is one person's whatever its case.

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_staff_phone_extension"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="staffprofile",
            name="one_staff_per_extension",
        ),
        migrations.AddConstraint(
            model_name="staffprofile",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("extension"),
                condition=models.Q(("extension", ""), _negated=True),
                name="one_staff_per_extension",
                violation_error_message="Another staff member already has this extension or agent id.",
            ),
        ),
    ]
