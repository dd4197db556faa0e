"""Rosa opens the portal: emergencies first, one search box, what people ask for most, every
service by group, in English or Spanish; the front-end libraries are served by city311 itself."""

import re

from django.core.cache import cache
from django.core.management import call_command

from city311.catalog.actions import set_translations
from city311.cities import profile
from city311.ops.assets import VENDOR_DIR, assets_installed
from city311.test import BaseTestCase, any_city


@any_city
class HomeTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        cache.clear()
        set_translations(self.pothole, "es", {"service_name": "Bache", "group": "Calles"})

    def test_it_says_emergencies_are_for_911_before_anything_else(self):
        html = self.client.get("/").content.decode()
        main = html.index('id="main-content"')
        emergency = html.index("Emergency?")
        self.assertLess(emergency, main)
        self.assertIn('href="tel:911"', html)

    def test_its_search_box_asks_what_rosa_needs_and_goes_to_the_report_flow(self):
        r = self.client.get("/")
        self.assertContains(
            r, '<label class="usa-label" for="q">What do you need?</label>', html=True
        )
        self.assertRegex(r.content.decode(), r'<form[^>]+action="/report/"')

    def test_it_lists_every_service_a_resident_may_report_by_group_but_no_emergency(self):
        r = self.client.get("/")
        self.assertContains(r, 'href="/report/pothole/"')
        self.assertContains(r, 'href="/report/fallen_tree/"')
        self.assertNotContains(r, f'href="/report/{self.fire.service_code}/"')

    def test_it_shows_the_most_requested_services(self):
        for _ in range(3):
            self.report()
        r = self.client.get("/")
        popular = r.content.decode().split("Most requested", 1)[1].split("</ul>", 1)[0]
        self.assertIn("/report/pothole/", popular)

    def test_spanish_is_chosen_once_and_remembered(self):
        r = self.client.post("/i18n/setlang/", {"language": "es", "next": "/"}, follow=True)
        self.assertContains(r, "Bache")
        self.assertContains(r, 'lang="es"')
        again = self.client.get("/")
        self.assertContains(again, "Bache")
        self.assertContains(again, "Calles")
        self.client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        self.assertContains(self.client.get("/"), "Pothole")

    def test_the_call_centre_hours_are_given_in_spanish_too(self):
        # The city's hours, as its pack gives them in each language.
        english, spanish = (profile.current().text("hours", code) for code in ("en", "es"))
        self.assertNotEqual(english, spanish)
        self.assertContains(self.client.get("/"), english)
        self.client.cookies["django_language"] = "es"
        r = self.client.get("/")
        self.assertContains(r, spanish)
        self.assertNotContains(r, english)

    def test_a_type_without_spanish_text_shows_its_english_name_in_spanish(self):
        self.client.cookies["django_language"] = "es"
        self.assertContains(self.client.get("/"), "Fallen tree")

    def test_the_page_loads_no_script_or_style_from_another_host(self):
        html = self.client.get("/").content.decode()
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            self.assertFalse(url.startswith(("http:", "https:", "//")), url)


class AssetTests(BaseTestCase):
    def test_install_assets_leaves_uswds_htmx_and_leaflet_in_static_vendor(self):
        call_command("install_assets")
        self.assertTrue(assets_installed())
        for path in (
            "uswds/css/uswds.min.css",
            "htmx/htmx.min.js",
            "leaflet/leaflet.js",
            "leaflet/leaflet.css",
        ):
            self.assertTrue((VENDOR_DIR / path).stat().st_size > 1000, path)
        css = (VENDOR_DIR / "uswds/css/uswds.min.css").read_text()
        self.assertNotIn("sourceMappingURL", css)
        # Every font and image the stylesheet refers to is there beside it.
        for ref in set(re.findall(r"url\(([^)]+)\)", css)):
            ref = ref.strip("\"'")
            if ref.startswith("data:"):
                continue
            self.assertTrue((VENDOR_DIR / "uswds/css" / ref).resolve().exists(), ref)
