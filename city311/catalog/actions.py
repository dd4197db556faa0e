"""Changes to the catalog that more than one screen makes."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from city311.catalog.models import Translated, Translation


def other_languages() -> list[tuple[str, str]]:
    """The configured languages besides English, whose text lives in `Translation` rows."""
    return [(code, name) for code, name in settings.LANGUAGES if code != "en"]


@transaction.atomic
def set_translations(row: Translated, language: str, texts: Mapping[str, str]) -> None:
    """Store `row`'s text in `language` for each field given; an empty text removes the row's
    translation, so residents read the English."""
    if not isinstance(row, models.Model) or row.pk is None:
        raise ValueError("Save the row before translating it.")
    if language not in dict(other_languages()):
        raise ValueError(f"{language!r} is not one of the city's other languages.")
    unknown = set(texts) - set(row.translatable)
    if unknown:
        raise ValueError(f"{type(row).__name__} has no translatable {', '.join(sorted(unknown))}.")
    content_type = ContentType.objects.get_for_model(row)
    current = {
        t.field: t
        for t in Translation.objects.filter(
            content_type=content_type, object_id=row.pk, language=language, field__in=texts
        )
    }
    for field, text in texts.items():
        text = text.strip()
        found = current.get(field)
        if not text and found is not None:
            found.delete()
        elif text and found is None:
            Translation.objects.create(
                content_type=content_type,
                object_id=row.pk,
                field=field,
                language=language,
                text=text,
            )
        elif text and found is not None and found.text != text:
            found.text = text
            found.save(update_fields=["text"])
