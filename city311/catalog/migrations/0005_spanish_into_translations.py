"""The Spanish columns' text becomes Translation rows; the next migration drops the columns."""

import uuid

from django.db import migrations

# model -> its Spanish columns, each the English field's name plus "_es"
SPANISH = {
    "department": ["name"],
    "servicetype": ["service_name", "description", "group", "referral"],
    "serviceattribute": ["description", "datatype_description"],
    "attributevalue": ["name"],
}


def _content_type(apps, model):
    ContentType = apps.get_model("contenttypes", "ContentType")
    found, _ = ContentType.objects.get_or_create(app_label="catalog", model=model)
    return found


def forwards(apps, schema_editor):
    Translation = apps.get_model("catalog", "Translation")
    for model, fields in SPANISH.items():
        content_type = _content_type(apps, model)
        rows = apps.get_model("catalog", model).objects.values_list(
            "pk", *(f"{f}_es" for f in fields)
        )
        Translation.objects.bulk_create(
            Translation(
                content_type=content_type, object_id=pk, field=field, language="es", text=text
            )
            for pk, *texts in rows.iterator()
            for field, text in zip(fields, texts)
            if text.strip()
        )
    # Every process's snapshot of the catalog is out of date.
    apps.get_model("catalog", "CatalogVersion").objects.update_or_create(
        pk=1, defaults={"token": uuid.uuid4().hex}
    )


def backwards(apps, schema_editor):
    Translation = apps.get_model("catalog", "Translation")
    for model, fields in SPANISH.items():
        Model = apps.get_model("catalog", model)
        spanish = Translation.objects.filter(
            content_type=_content_type(apps, model), language="es", field__in=fields
        )
        for t in spanish.iterator():
            Model.objects.filter(pk=t.object_id).update(**{f"{t.field}_es": t.text})
        spanish.delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_translation_catalogversion")]

    operations = [migrations.RunPython(forwards, backwards)]
