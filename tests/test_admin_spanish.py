"""The admin in Spanish: Ada reads the names of city311's apps, models, fields and choices in
the page's language, never a field's raw name."""

from __future__ import annotations

import html
import re

from django.apps import apps
from django.contrib import admin
from django.utils import translation
from django.utils.functional import Promise

from city311.test import BaseTestCase


def admin_labels() -> list[tuple[str, Promise]]:
    """Every name the admin can show for city311's registered models: the app's, the model's
    (one and many), each field's and each choice's."""
    found: list[tuple[str, Promise]] = []
    for model in admin.site._registry:
        meta = model._meta
        if not model.__module__.startswith("city311."):
            continue
        config = apps.get_app_config(meta.app_label)
        found += [(config.name, config.verbose_name)]
        found += [(meta.label, meta.verbose_name), (meta.label, meta.verbose_name_plural)]
        for field in meta.get_fields(include_hidden=True):
            label = getattr(field, "verbose_name", None)
            if label is None:
                continue
            found.append((f"{meta.label}.{field.name}", label))
            for _value, choice in getattr(field, "choices", None) or []:
                found.append((f"{meta.label}.{field.name} choice", choice))
    return found


def test_every_name_the_admin_shows_has_its_spanish():
    untranslated = []
    for where, label in admin_labels():
        if not isinstance(label, Promise):
            untranslated.append(f"{where}: {label!r} is fixed text")
            continue
        english = str(label)
        with translation.override("es"):
            spanish = str(label)
        # A few read the same in both (URL, SMS, HTML): the catalogue still says so.
        if (
            spanish == english
            and translation.trans_real.translation("es").gettext(english) is english
        ):
            untranslated.append(f"{where}: {english!r}")
    assert not untranslated, untranslated


class AdminInSpanishTests(BaseTestCase):
    def setUp(self):
        self.sign_in(self.ada)

    def assert_reads(self, page: str, spanish: tuple[str, ...], english: tuple[str, ...]):
        self.assertEqual([w for w in spanish if w not in page], [], "Spanish missing")
        self.assertEqual([w for w in english if w in page], [], "English shown")

    def page(self, path: str) -> str:
        r = self.client.get(path, HTTP_ACCEPT_LANGUAGE="es")
        self.assertEqual(r.status_code, 200, path)
        text = r.content.decode()
        self.assertIn('<html lang="es"', text)
        return html.unescape(text)

    def assert_no_raw_names(self, page: str) -> None:
        # A field's own name shown as a label or a column: "service_code", "Sla amount".
        shown = re.findall(r"<label[^>]*>([^<]+)</label>|<th[^>]*>\s*(?:<[^>]+>\s*)*([^<]+)<", page)
        raw = [t for pair in shown for t in pair if re.search(r"\b[a-z]+_[a-z_]+\b", t)]
        self.assertEqual(raw, [])

    def test_the_index_names_the_apps_and_models_in_spanish(self):
        page = self.page("/admin/")
        self.assert_reads(
            page,
            ("Catálogo de servicios", "Tipos de servicio", "Solicitudes de servicio"),
            ("Service types", "Service catalog", "Routing rules"),
        )

    def test_a_service_types_form_labels_its_fields_in_spanish(self):
        page = self.page(f"/admin/catalog/servicetype/{self.pothole.pk}/change/")
        self.assert_reads(
            page,
            ("Código de servicio", "Nombre del servicio", "Cantidad del SLA", "Urgencia"),
            ("Service code", "Service name", "SLA amount", "Display order"),
        )
        self.assert_no_raw_names(page)

    def test_the_request_list_names_its_columns_and_filters_in_spanish(self):
        self.report()
        page = self.page("/admin/servicerequests/servicerequest/")
        self.assert_reads(
            page,
            ("Número de seguimiento", "Estado", "Canal", "Portal web"),
            ("Tracking number", "Requested at", "Web portal"),
        )
        self.assert_no_raw_names(page)

    def test_a_boundary_list_and_a_message_template_form_read_spanish(self):
        page = self.page("/admin/geo/boundary/")
        self.assertIn("Límites", page)
        self.assert_no_raw_names(page)
        page = self.page("/admin/notifications/messagetemplate/add/")
        self.assert_reads(page, ("Asunto", "Texto:", "Idioma:", "Tipo de servicio"), ("Language",))
        self.assert_no_raw_names(page)
