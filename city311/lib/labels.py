"""The names the admin shows for city311's apps, models, fields and choices, in the reader's
language.

Django derives a label from a name ("service_code" -> "service code") or takes the words given
in the code as plain text: the admin showed them in English on Spanish pages. Here each is
made a lazy translation of those same English words once every model is loaded, so the
Spanish is in locale/es's catalogue (tests/test_admin_spanish.py finds one missing) and the
code keeps its plain names. `makemessages` does not see these words in the code and would mark
their entries obsolete: keep them (the test fails for any name left without Spanish). Nothing
here reaches a migration: Django writes a field's
verbose_name as given (`_verbose_name`), and compares choices by their English.
"""

from __future__ import annotations

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy


def _lazy(words: object) -> object:
    return words if isinstance(words, Promise) or not words else gettext_lazy(str(words))


def translate_labels(prefix: str = "city311.") -> None:
    """Make every label of the apps under `prefix` follow the active language."""
    for config in apps.get_app_configs():
        if not config.name.startswith(prefix):
            continue
        config.verbose_name = _lazy(config.verbose_name)  # type: ignore[assignment]
        for model in config.get_models():
            meta = model._meta
            if "verbose_name_plural" not in meta.original_attrs:
                # Django's own plural ("{}s") is lazy but English: its words, translated.
                meta.verbose_name_plural = gettext_lazy(str(meta.verbose_name_plural))
            meta.verbose_name = _lazy(meta.verbose_name)  # type: ignore[assignment]
            meta.verbose_name_plural = _lazy(meta.verbose_name_plural)  # type: ignore[assignment]
            for field in meta.get_fields(include_hidden=True):
                if getattr(field, "verbose_name", None) is None:
                    continue
                field.verbose_name = _lazy(field.verbose_name)  # type: ignore[union-attr]
                if _flat(getattr(field, "choices", None)):
                    field.choices = [(v, _lazy(label)) for v, label in field.choices]  # type: ignore[union-attr]


def _flat(choices: object) -> bool:
    """Whether `choices` are (value, label) pairs, not grouped under headings."""
    if not isinstance(choices, list | tuple) or not choices:
        return False
    return all(
        isinstance(c, tuple | list) and len(c) == 2 and not isinstance(c[1], list | tuple)
        for c in choices
    )
