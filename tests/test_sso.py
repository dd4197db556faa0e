"""Single sign-on through the city's identity provider (OpenID Connect), against a real provider
served over HTTP on loopback (tests/oidc_provider.py): the browser's steps are followed with the
test client, and city311 talks to the provider over the network as it would in production."""

from __future__ import annotations

import urllib.request
from urllib.error import HTTPError
from urllib.parse import urlparse

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.test import override_settings

from city311.accounts import oidc
from city311.accounts.models import Membership
from city311.accounts.rolemap import parse_role_map
from city311.test import BaseTestCase
from tests.oidc_provider import Provider

ROLES = parse_role_map(
    "CITY311_OIDC_ROLES",
    "311-agents=Call taker; streets-leads=Supervisor@transportation; "
    "parks-crew=Department staff@parks; it-admins=Administrator",
)
SAM = {
    "sub": "u-5521",
    "preferred_username": "sam",
    "given_name": "Sam",
    "family_name": "Okafor",
    "email": "sam@city.example",
    "groups": ["streets-leads", "all-employees"],
}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def visit_provider(url: str) -> str:
    """The browser at the provider's sign-in: where the provider sends it back to."""
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        opener.open(url, timeout=10)
    except HTTPError as answer:
        assert answer.code == 302, answer.read()
        return answer.headers["Location"]
    raise AssertionError("the provider did not send the browser back")


class SingleSignOnTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.provider = Provider(client_id="city311", client_secret="s3cret").__enter__()
        self.addCleanup(self.provider.__exit__)
        self.provider.person = dict(SAM)
        oidc._discovery.clear()
        self.enabled = override_settings(
            CITY311_OIDC_ISSUER=self.provider.issuer,
            CITY311_OIDC_CLIENT_ID="city311",
            CITY311_OIDC_CLIENT_SECRET="s3cret",
            CITY311_OIDC_ROLES=ROLES,
            CITY311_OIDC_PROVIDER_NAME="NYC ID",
            AUTHENTICATION_BACKENDS=[
                "axes.backends.AxesStandaloneBackend",
                "django.contrib.auth.backends.ModelBackend",
                "city311.accounts.oidc.CityIdentityBackend",
            ],
        )
        self.enabled.enable()
        self.addCleanup(self.enabled.disable)

    def sign_in_through_the_provider(self, next_page="/work/"):
        start = self.client.get(f"/oidc/authenticate/?next={next_page}")
        self.assertEqual(start.status_code, 302)
        self.assertTrue(start["Location"].startswith(f"{self.provider.issuer}/authorize?"))
        back = urlparse(visit_provider(start["Location"]))
        self.assertEqual(back.path, "/oidc/callback/")
        return self.client.get(f"{back.path}?{back.query}")

    def test_the_sign_in_page_offers_the_citys_account(self):
        self.assertContains(self.client.get("/accounts/login/"), "Sign in with NYC ID")

    def test_sam_signs_in_with_his_city_account_as_a_streets_supervisor(self):
        r = self.sign_in_through_the_provider()
        self.assertRedirects(r, "/work/", fetch_redirect_response=False)
        sam = User.objects.get(sign_in_identities__subject="u-5521")
        self.assertEqual((sam.username, sam.get_full_name()), ("sam", "Sam Okafor"))
        self.assertEqual([g.name for g in sam.groups.all()], ["Supervisor"])
        self.assertEqual(
            list(Membership.objects.filter(user=sam).values_list("department__slug", flat=True)),
            ["transportation"],
        )
        self.assertFalse(sam.has_usable_password())
        sr = self.report()
        self.assertContains(self.client.get("/work/"), sr.tracking_number)

    @override_settings(CITY311_STAFF_2FA_REQUIRED=True)
    def test_the_provider_checked_the_second_factor(self):
        self.sign_in_through_the_provider()
        self.assertEqual(self.client.get("/work/").status_code, 200)

    def test_his_groups_at_the_provider_decide_his_roles_at_each_sign_in(self):
        self.sign_in_through_the_provider()
        self.client.post("/accounts/logout/")
        self.provider.person["groups"] = ["parks-crew"]
        self.sign_in_through_the_provider()
        sam = User.objects.get(sign_in_identities__subject="u-5521")
        self.assertEqual([g.name for g in sam.groups.all()], ["Department staff"])
        self.assertEqual(
            list(Membership.objects.filter(user=sam).values_list("department__slug", flat=True)),
            ["parks"],
        )
        self.assertEqual(User.objects.filter(username__startswith="sam").count(), 1)

    def test_someone_in_no_mapped_group_is_refused_and_loses_what_he_had(self):
        self.sign_in_through_the_provider()
        self.client.post("/accounts/logout/")
        self.provider.person["groups"] = ["all-employees"]
        r = self.sign_in_through_the_provider()
        self.assertRedirects(r, "/accounts/login/", fetch_redirect_response=False)
        page = self.client.get("/accounts/login/")
        self.assertContains(page, "in no group that may use city311")
        self.assertRedirects(
            self.client.get("/work/"), "/accounts/login/?next=/work/", fetch_redirect_response=False
        )
        sam = User.objects.get(sign_in_identities__subject="u-5521")
        self.assertFalse(sam.groups.exists() or sam.memberships.exists())

    def test_a_local_account_with_the_same_name_is_not_taken_over(self):
        User.objects.create_user("sam", password="local-only-password")
        self.sign_in_through_the_provider()
        sam = User.objects.get(sign_in_identities__subject="u-5521")
        self.assertEqual(sam.username, "sam-2")
        self.assertFalse(User.objects.get(username="sam").groups.exists())

    def test_an_id_token_signed_by_another_key_is_refused(self):
        self.provider.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        r = self.sign_in_through_the_provider()
        self.assertRedirects(r, "/accounts/login/", fetch_redirect_response=False)
        self.assertContains(self.client.get("/accounts/login/"), "could not be checked")
        self.assertFalse(User.objects.filter(sign_in_identities__subject="u-5521").exists())
        self.assertNotEqual(self.client.get("/work/").status_code, 200)

    def test_an_id_token_for_another_client_or_issuer_is_refused(self):
        for change in ({"aud": "someone-else"}, {"iss": "http://127.0.0.1:1"}):
            self.provider.id_token_changes = change
            with self.assertLogs("city311.accounts.oidc", "WARNING") as logged:
                r = self.sign_in_through_the_provider()
            self.assertIn("ID token refused", logged.output[0])
            self.assertRedirects(r, "/accounts/login/", fetch_redirect_response=False)
            self.assertNotEqual(self.client.get("/work/").status_code, 200)
        self.assertFalse(User.objects.filter(sign_in_identities__subject="u-5521").exists())

    def test_a_provider_that_does_not_answer_is_a_503_that_says_so(self):
        self.provider.__exit__()
        oidc._discovery.clear()
        r = self.client.get("/oidc/authenticate/")
        self.assertContains(r, "sign-in service is not answering", status_code=503)

    def test_password_sign_in_does_not_wait_on_the_provider(self):
        self.provider.__exit__()
        oidc._discovery.clear()
        r = self.client.post("/accounts/login/", {"username": "dana", "password": "x" * 3})
        self.assertEqual(r.status_code, 200)  # wrong password, answered at once


@override_settings(CITY311_OIDC_ISSUER="")
class WithoutSingleSignOnTests(BaseTestCase):
    def test_the_sign_in_page_offers_passwords_only(self):
        self.assertNotContains(self.client.get("/accounts/login/"), "Sign in with")

    def test_the_sso_addresses_are_not_there(self):
        self.assertEqual(self.client.get("/oidc/authenticate/").status_code, 404)


def test_a_bad_role_map_names_the_entry_and_the_roles(settings):
    with pytest.raises(ValueError, match="'Crew chief' in 'x=Crew chief' is not a city311 role"):
        parse_role_map("CITY311_OIDC_ROLES", "x=Crew chief")
    with pytest.raises(ValueError, match="is not group=Role"):
        parse_role_map("CITY311_OIDC_ROLES", "just-a-group")
