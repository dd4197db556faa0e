"""What every site answers besides its pages: the favicon, and how a refusal is logged."""

import logging

from city311.test import BaseTestCase


class OpsPageTests(BaseTestCase):
    def test_browsers_get_a_favicon(self):
        r = self.client.get("/favicon.ico")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["Content-Type"], "image/x-icon")
        self.assertIn("max-age=86400", r["Cache-Control"])
        # An ICO file: reserved 0, type 1.
        self.assertEqual(b"".join(r.streaming_content)[:4], b"\x00\x00\x01\x00")

    def test_dana_refused_an_assignment_is_one_line_in_the_log_without_a_traceback(self):
        sr = self.report()
        self.sign_in(self.dana)  # Streets staff, not its supervisor
        with self.assertLogs("django.request", logging.WARNING) as logs:
            r = self.client.post(
                f"/work/requests/{sr.tracking_number}/assign", {"assignee": self.dana.pk}
            )
        self.assertEqual(r.status_code, 403)
        [record] = logs.records
        self.assertIn("Forbidden", record.getMessage())
        self.assertIsNone(record.exc_info)
        self.assertNotIn("Traceback", logs.output[0])

    def test_a_server_error_keeps_its_traceback(self):
        from city311.ops.logs import NoTracebackForClientErrors

        try:
            raise RuntimeError("boom")
        except RuntimeError:
            import sys

            record = logging.LogRecord(
                "django.request",
                logging.ERROR,
                __file__,
                1,
                "Internal Server Error",
                (),
                sys.exc_info(),
            )
        record.status_code = 500
        self.assertTrue(NoTracebackForClientErrors().filter(record))
        self.assertIsNotNone(record.exc_info)


class ErrorPageTests(BaseTestCase):
    """The pages a mistyped or forbidden address gives, read as a resident or staff reads them."""

    def get(self, path: str, language: str):
        self.client.cookies["django_language"] = language
        return self.client.get(path)

    def test_a_mistyped_address_says_not_found_in_words_not_a_class_name(self):
        r = self.get("/requets/", "en")
        self.assertContains(r, "<h1>Not found</h1>", status_code=404)
        self.assertContains(r, "There is nothing at this address.", status_code=404)
        self.assertContains(r, 'href="/"', status_code=404)
        self.assertNotContains(r, "Resolver404", status_code=404)

    def test_rosa_reading_spanish_gets_the_not_found_page_in_spanish(self):
        r = self.get("/requets/", "es")
        self.assertContains(r, "<h1>No se encontró</h1>", status_code=404)
        self.assertContains(r, "No hay nada en esta dirección.", status_code=404)
        self.assertContains(r, "Ir a la página de inicio", status_code=404)
        self.assertNotContains(r, "Not found", status_code=404)

    def test_a_page_that_says_why_it_is_not_found_says_it_in_each_language(self):
        # The handler's other branch: a view's own reason for people, shown in the page's
        # language (it was English on Spanish pages for half of them).
        for path, english, spanish in [
            ("/report/no-such-thing/", "There is no such service.", "No existe ese servicio."),
            (
                "/pickups/booking/nonesuch/",
                "There is no such booking: check the link in your confirmation.",
                "No existe esa reserva: revise el enlace de su confirmación.",
            ),
            (
                "/events/category/nonesuch.ics",
                "There is no such event category.",
                "No existe esa categoría de eventos.",
            ),
        ]:
            with self.subTest(path):
                r = self.get(path, "en")
                self.assertContains(r, f"<p>{english}</p>", status_code=404, html=False)
                self.assertContains(r, '<html lang="en">', status_code=404)
                r = self.get(path, "es")
                self.assertContains(r, "<h1>No se encontró</h1>", status_code=404)
                self.assertContains(r, f"<p>{spanish}</p>", status_code=404)
                self.assertContains(r, '<html lang="es">', status_code=404)
                self.assertNotContains(r, english, status_code=404)

    def test_a_lookup_that_finds_nothing_gives_the_plain_words_not_djangos(self):
        # get_object_or_404's message is for developers ("No Facility matches the given
        # query."): the page says the plain sentence instead, in each language.
        for language, plain in [
            ("en", "There is nothing at this address."),
            ("es", "No hay nada en esta dirección."),
        ]:
            r = self.get("/facilities/no-such-pool/", language)
            self.assertContains(r, plain, status_code=404)
            self.assertNotContains(r, "matches the given query", status_code=404)

    def test_dana_refused_a_page_reads_why_in_spanish(self):
        self.sign_in(self.dana)  # Streets staff: the reports are for supervisors and managers
        r = self.get("/reports/", "es")
        self.assertContains(r, "<h1>No puede ver esta página</h1>", status_code=403)
        self.assertContains(r, "Los informes son para supervisores y gerentes.", status_code=403)
        self.assertContains(r, "pídasela a su supervisor", status_code=403)
        self.assertNotContains(r, "You cannot see this page", status_code=403)
