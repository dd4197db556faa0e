from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_spanish_into_translations")]

    operations = [
        migrations.RemoveField(model_name="attributevalue", name="name_es"),
        migrations.RemoveField(model_name="department", name="name_es"),
        migrations.RemoveField(model_name="serviceattribute", name="datatype_description_es"),
        migrations.RemoveField(model_name="serviceattribute", name="description_es"),
        migrations.RemoveField(model_name="servicetype", name="description_es"),
        migrations.RemoveField(model_name="servicetype", name="group_es"),
        migrations.RemoveField(model_name="servicetype", name="referral_es"),
        migrations.RemoveField(model_name="servicetype", name="service_name_es"),
    ]
