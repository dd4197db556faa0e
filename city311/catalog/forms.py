"""Forms that edit catalog text in every language the city offers, beside the English."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db import models

from city311.catalog.actions import other_languages, set_translations
from city311.catalog.models import Translation


def translation_field(field: str, language: str) -> str:
    """The form field holding `field` in `language`: "service_name__es"."""
    return f"{field}__{language}"


class TranslationsForm(forms.ModelForm):
    """A model form that also edits `Translation` rows; built by `translations_form`."""

    # form field name -> (model field, language)
    translations: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None or not self.translations:
            return
        stored = Translation.objects.filter(
            content_type=ContentType.objects.get_for_model(self.instance),
            object_id=self.instance.pk,
        )
        texts = {(t.field, t.language): t.text for t in stored}
        for name, key in self.translations.items():
            self.fields[name].initial = texts.get(key, "")

    def _save_m2m(self) -> None:
        # Runs after the row is saved, on commit=True and through the admin's save_m2m() alike.
        super()._save_m2m()  # type: ignore[misc]
        by_language: dict[str, dict[str, str]] = {}
        for name, (field, language) in self.translations.items():
            by_language.setdefault(language, {})[field] = self.cleaned_data.get(name) or ""
        for language, texts in by_language.items():
            set_translations(self.instance, language, texts)


def translations_form(
    model: type[models.Model], fields: tuple[str, ...], base: type[forms.ModelForm]
) -> type[forms.ModelForm]:
    """`base` plus one field per translatable field in `fields` per configured language besides
    English, labelled with the language; blank shows residents the English."""
    declared: dict[str, Any] = {}
    translations: dict[str, tuple[str, str]] = {}
    for language, language_name in other_languages():
        for field in fields:
            name = translation_field(field, language)
            model_field = model._meta.get_field(field)
            assert isinstance(model_field, models.Field)
            declared[name] = model_field.formfield(
                required=False, label=f"{model_field.verbose_name} ({language_name})"
            )
            translations[name] = (field, language)
    bases = (base,) if issubclass(base, TranslationsForm) else (TranslationsForm, base)
    return type(
        f"{model.__name__}TranslationsForm", bases, {**declared, "translations": translations}
    )
