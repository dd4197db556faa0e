"""The languages a city offers are a setting and translation rows, never a migration.

French here is a third language city311 has no .po file for: Rosa can choose it, the catalog
speaks French where the administrator translated it and English where not, and the words
city311 itself writes stay English.
"""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase, override_settings

from city311.catalog.actions import set_translations
from city311.catalog.models import Translation
from city311.catalog.search import suggest_types
from city311.demo import loader
from city311.test import BaseTestCase
from tests.test_portal_report import ReportTestCase

THREE = [("en", "English"), ("es", "Español"), ("fr", "Français")]


@override_settings(LANGUAGES=THREE)
class ThirdLanguageTests(ReportTestCase):
    def setUp(self) -> None:
        super().setUp()
        size = self.pothole.attributes.get(code="size")
        set_translations(self.pothole, "fr", {"service_name": "Nid-de-poule", "group": "Rues"})
        set_translations(size, "fr", {"description": "Quelle taille fait-il ?"})
        set_translations(size.values.get(key="small"), "fr", {"name": "Plus petit que la main"})

    def choose_french(self):
        return self.client.post("/i18n/setlang/", {"language": "fr", "next": "/"}, follow=True)

    def test_the_language_switch_offers_every_configured_language(self) -> None:
        r = self.client.get("/")
        for code, name in (("es", "Español"), ("fr", "Français")):
            button = (
                '<button class="usa-button usa-button--unstyled" type="submit" name="language"'
                f' value="{code}" lang="{code}">{name}</button>'
            )
            self.assertContains(r, button, html=True)

    def test_the_home_page_names_services_in_french_and_in_english_where_none_is_given(self):
        r = self.choose_french()
        self.assertContains(r, '<html lang="fr">')
        self.assertContains(r, "Nid-de-poule")
        self.assertContains(r, "Rues")
        self.assertNotContains(r, ">Pothole<")
        self.assertContains(r, "Fallen tree")
        # No .po file for French: city311's own words stay English.
        self.assertContains(r, "Report a problem")

    def test_the_report_asks_its_questions_in_french_and_in_english_where_none_is_given(self):
        self.choose_french()
        self.assertContains(self.start(), "Nid-de-poule")
        r = self.give_address()
        self.assertContains(r, "Quelle taille fait-il ?")
        self.assertContains(r, "Plus petit que la main")
        self.assertContains(r, "Larger than a plate")
        self.assertContains(r, "Which lanes?")
        self.assertNotContains(r, "How big is it?")

    def test_french_words_find_the_service(self) -> None:
        self.assertEqual(suggest_types("un nid de poule")[0][0].service_code, "pothole")

    def test_dropping_french_from_the_setting_hides_it_again(self) -> None:
        with override_settings(LANGUAGES=THREE[:2]):
            self.client.cookies["django_language"] = "fr"
            r = self.client.get("/")
            self.assertNotContains(r, 'value="fr"')
            self.assertNotContains(r, "Nid-de-poule")
            self.assertContains(r, "Pothole")


class SpanishFromTheLoaderTests(BaseTestCase):
    """The demo loader writes the catalog file's Spanish as translation rows."""

    def setUp(self) -> None:
        super().setUp()
        loader.load_catalog()
        self.client.cookies["django_language"] = "es"

    def test_the_spanish_home_page_shows_the_demo_catalogs_spanish(self) -> None:
        r = self.client.get("/")
        self.assertContains(r, "Bache")
        self.assertContains(r, "Calles y aceras")

    def test_a_spanish_report_asks_the_demo_catalogs_questions_in_spanish(self) -> None:
        r = self.client.get("/report/streetlight_out/", follow=True)
        self.assertContains(r, "Luz de la calle apagada o dañada")


@override_settings(LANGUAGES=[("en", "English")])
class EnglishOnlyCityTests(BaseTestCase):
    def test_a_language_the_city_does_not_offer_is_kept_but_not_shown(self) -> None:
        loader.load_catalog()
        # Kept for the day the city offers it (docs/city-pack.md, `languages`).
        self.assertTrue(Translation.objects.filter(language="es").exists())
        r = self.client.get("/", headers={"accept-language": "es"})
        self.assertContains(r, "Pothole")
        self.assertNotContains(r, 'name="language"')


class SpanishColumnsMigrationTests(TransactionTestCase):
    """A city that ran city311 before translations were rows keeps every Spanish text."""

    before = [("catalog", "0004_translation_catalogversion")]

    def tearDown(self) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    def test_the_spanish_columns_become_translation_rows_and_show_on_spanish_pages(self):
        executor = MigrationExecutor(connection)
        executor.migrate(self.before)
        old = executor.loader.project_state(self.before).apps
        department = old.get_model("catalog", "Department").objects.create(
            name="Streets", name_es="Calles", slug="transportation"
        )
        pothole = old.get_model("catalog", "ServiceType").objects.create(
            service_code="pothole",
            service_name="Pothole",
            service_name_es="Bache",
            group="Streets",
            group_es="",
            department=department,
        )
        size = old.get_model("catalog", "ServiceAttribute").objects.create(
            service_type=pothole,
            code="size",
            description="How big is it?",
            description_es="¿Qué tamaño tiene?",
            datatype="singlevaluelist",
        )
        old.get_model("catalog", "AttributeValue").objects.create(
            attribute=size, key="large", name="Larger than a plate", name_es="Más grande"
        )

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

        moved = set(Translation.objects.values_list("field", "language", "text"))
        self.assertEqual(
            moved,
            {
                ("name", "es", "Calles"),
                ("service_name", "es", "Bache"),
                ("description", "es", "¿Qué tamaño tiene?"),
                ("name", "es", "Más grande"),
            },
        )
        self.client.cookies["django_language"] = "es"
        r = self.client.get("/")
        self.assertContains(r, "Bache")
        # The group had no Spanish: the English shows.
        self.assertContains(r, "Streets")
