"""Each process serves the catalog from its own snapshot, and never one older than the database."""

from __future__ import annotations

import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from city311.catalog import cache
from city311.catalog.actions import set_translations
from city311.catalog.models import CatalogVersion, Department, ServiceType, Translation
from city311.test import BaseTestCase, add_questions


def catalog_queries(queries: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in queries if '"catalog_' in q["sql"]]


class SnapshotTests(BaseTestCase):
    def test_a_change_another_process_made_is_seen_once_it_bumps_the_version(self):
        self.assertContains(self.client.get("/"), ">Pothole<")
        # Another process writes: this process's memory hears nothing of it.
        ServiceType.objects.filter(pk=self.pothole.pk).update(service_name="Pothole or crack")
        self.assertContains(self.client.get("/"), ">Pothole<")
        CatalogVersion.objects.update(token="another-process")
        self.assertContains(self.client.get("/"), ">Pothole or crack<")

    def test_a_busy_process_asks_at_most_once_per_recheck_interval(self):
        with self.settings(CITY311_CATALOG_RECHECK_SECONDS=0.3):
            self.client.get("/")
            with CaptureQueriesContext(connection) as queries:
                self.client.get("/")
            # Checked a moment ago: no query at all, not even the token's.
            self.assertEqual(catalog_queries(queries.captured_queries), [])
            ServiceType.objects.filter(pk=self.pothole.pk).update(service_name="Pothole or crack")
            CatalogVersion.objects.update(token="another-process")
            time.sleep(0.35)
            self.assertContains(self.client.get("/"), ">Pothole or crack<")

    def test_a_translation_another_process_wrote_is_seen_after_its_bump(self):
        self.client.cookies["django_language"] = "es"
        self.assertContains(self.client.get("/"), ">Pothole<")
        Translation.objects.bulk_create(
            [Translation(target=self.pothole, field="service_name", language="es", text="Bache")]
        )
        CatalogVersion.objects.update(token="another-process")
        self.assertContains(self.client.get("/"), ">Bache<")

    def test_any_save_of_a_catalog_row_is_seen_at_once(self):
        self.assertContains(self.client.get("/"), ">Pothole<")
        self.pothole.service_name = "Pothole or crack"
        self.pothole.save()
        self.assertContains(self.client.get("/"), ">Pothole or crack<")
        self.pothole.delete()
        self.assertNotContains(self.client.get("/"), "Pothole")

    def test_a_page_reads_the_catalog_with_one_tiny_query_once_current(self):
        self.client.get("/")
        with CaptureQueriesContext(connection) as queries:
            self.client.get("/")
        read = catalog_queries(queries.captured_queries)
        self.assertEqual(len(read), 1, read)
        self.assertIn('FROM "catalog_catalogversion"', read[0])

    def test_more_types_and_questions_cost_no_more_queries(self):
        def pages() -> None:
            self.client.get("/")
            self.client.get("/report/pothole/", follow=True)
            self.client.get("/requests/")

        def count() -> int:
            pages()  # the snapshot and the session are made before counting
            with CaptureQueriesContext(connection) as queries:
                pages()
            return len(queries.captured_queries)

        before = count()
        for i in range(20):
            extra = ServiceType.objects.create(
                service_code=f"extra_{i}", service_name=f"Extra {i}", department=self.streets
            )
            add_questions(extra)
            set_translations(extra, "es", {"service_name": f"Extra {i} (es)"})
        self.assertEqual(count(), before)

    def test_the_type_it_hands_out_has_its_questions_choices_and_department_ready(self):
        cache.request_started()  # as a web request does: the version is checked once
        try:
            pothole = cache.active_type("pothole")
            assert pothole is not None
            with self.assertNumQueries(0):
                questions = [
                    (a.code, [v.key for v in a.values.all()]) for a in pothole.attributes.all()
                ]
                self.assertEqual(questions[0], ("size", ["small", "large"]))
                self.assertEqual(pothole.department, self.streets)
                self.assertTrue(pothole.has_questions)
                self.assertEqual(pothole.translated("service_name", "es"), "Pothole")
        finally:
            cache.request_finished()

    def test_an_inactive_or_unknown_type_is_not_handed_out(self):
        ServiceType.objects.filter(pk=self.tree.pk).update(active=False)
        cache.bump()
        self.assertIsNone(cache.active_type("fallen_tree"))
        self.assertIsNone(cache.active_type("no_such_type"))
        self.assertEqual(cache.service_type(self.tree.pk), self.tree)

    def test_emergencies_are_handed_out_only_when_asked_for(self):
        self.assertNotIn(self.fire, cache.active_types())
        self.assertIn(self.fire, cache.active_types(emergencies=True))
        self.assertEqual(cache.active_type("fire"), self.fire)

    def test_a_department_renamed_in_spanish_is_named_so(self):
        set_translations(self.streets, "es", {"name": "Calles"})
        self.assertEqual(
            Department.objects.get(pk=self.streets.pk).translated("name", "es"), "Calles"
        )
        self.assertEqual(self.streets.translated("name", "es-mx"), "Calles")
        self.assertEqual(self.streets.translated("name", "en"), "Streets")
        set_translations(self.streets, "es", {"name": ""})
        self.assertEqual(self.streets.translated("name", "es"), "Streets")

    def test_a_deleted_rows_translations_go_with_it(self):
        small = self.pothole.attributes.get(code="size").values.get(key="small")
        set_translations(small, "es", {"name": "Más pequeño que un plato"})
        kept = Translation.objects.filter(
            content_type__app_label="catalog",
            content_type__model=small._meta.model_name,
            object_id=small.pk,
        )
        self.assertTrue(kept.exists())
        small.delete()
        # This row's, not every catalog translation: other tests' cities may have left theirs.
        self.assertFalse(kept.exists())

    def test_a_language_the_city_does_not_offer_cannot_be_stored(self):
        with self.assertRaisesMessage(ValueError, "'fr' is not one of the city's other languages"):
            set_translations(self.pothole, "fr", {"service_name": "Nid-de-poule"})
        with self.assertRaisesMessage(ValueError, "ServiceType has no translatable keywords"):
            set_translations(self.pothole, "es", {"keywords": "bache"})
