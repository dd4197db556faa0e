"""Every response tells the browser what its page may do: Content-Security-Policy and
Permissions-Policy (city311/lib/security.py). tests/browser/test_csp.py: the pages keep to it."""

from __future__ import annotations

from django.test import SimpleTestCase, override_settings

from city311.lib import security
from city311.lib.env import ConfigError
from city311.test import BaseTestCase


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


class PolicyHeaderTests(BaseTestCase):
    def test_it_allows_scripts_and_styles_from_this_site_only(self):
        for path in ("/", "/track/", "/accounts/login/", "/api/docs", "/healthz"):
            with self.subTest(path=path):
                policy = directives(self.client.get(path).headers["Content-Security-Policy"])
                self.assertEqual(policy["script-src"], ["'self'"])
                self.assertEqual(policy["style-src"], ["'self'"])
                self.assertEqual(policy["object-src"], ["'none'"])
                self.assertEqual(policy["frame-ancestors"], ["'none'"])
                self.assertEqual(policy["img-src"], ["'self'", "data:"])

    @override_settings(
        CONTENT_SECURITY_POLICY=security.content_security_policy(
            "https://{s}.tile.example.org/{z}/{x}/{y}.png"
        )
    )
    def test_it_allows_images_from_the_citys_tile_server(self):
        policy = directives(self.client.get("/").headers["Content-Security-Policy"])
        self.assertEqual(policy["img-src"], ["'self'", "data:", "https://*.tile.example.org"])

    def test_it_lets_only_this_site_ask_for_the_location_and_nothing_else(self):
        header = self.client.get("/report/").headers["Permissions-Policy"]
        features = dict(part.strip().split("=") for part in header.split(","))
        self.assertEqual(features.pop("geolocation"), "(self)")
        self.assertTrue(features)
        self.assertEqual(set(features.values()), {"()"})

    def test_it_sends_the_policy_on_errors_and_on_the_admin_too(self):
        for path, status in (("/track/?number=123-4567-899", 404), ("/admin/login/", 200)):
            response = self.client.get(path)
            self.assertEqual(response.status_code, status)
            self.assertIn("script-src 'self'", response.headers["Content-Security-Policy"])


class TileOriginTests(SimpleTestCase):
    def test_it_names_the_tile_servers_origin(self):
        cases = {
            "": "",
            "https://tile.example.org/{z}/{x}/{y}.png": "https://tile.example.org",
            "https://{s}.tile.example.org/{z}/{x}/{y}.png": "https://*.tile.example.org",
            "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png?key=abc": "http://127.0.0.1:8080",
        }
        for template, origin in cases.items():
            with self.subTest(template=template):
                self.assertEqual(security.tile_origin(template), origin)

    def test_it_refuses_a_template_that_is_not_a_web_address(self):
        for template in ("tile.example.org/{z}/{x}/{y}.png", "ftp://x.org/{z}", "https://{z}.org/"):
            with (
                self.subTest(template=template),
                self.assertRaisesMessage(ConfigError, "CITY311_MAP_TILES"),
            ):
                security.tile_origin(template)
