"""Emergencies are caught first, in every channel: "call 911 now" before any suggestion.

The phrasings (tests/data/triage_phrasings.yaml) are how people really write, in English and
Spanish: every emergency must be prompted, no ordinary 311 problem that shares its words may be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.test import override_settings

from city311.cities.admin import CityAdmin
from city311.cities.models import City
from city311.open311.models import ApiKey
from city311.servicerequests.models import ServiceRequest
from city311.test import BaseTestCase, CityMixin
from city311.triage.coverage import triage_coverage
from city311.triage.models import EmergencyPrompt
from tests import small_city
from tests.test_open311 import BASE

PHRASINGS = yaml.safe_load((Path(__file__).parent / "data" / "triage_phrasings.yaml").read_text())


def _all(group: str) -> list[tuple[str, str]]:
    return [(language, text) for language, texts in PHRASINGS[group].items() for text in texts]


EMERGENCIES = _all("emergency") + _all("self_harm")
SELF_HARM = _all("self_harm")
ORDINARY = _all("ordinary")


def test_the_set_is_big_enough_half_emergencies_and_a_third_spanish():
    everything = EMERGENCIES + ORDINARY
    assert len(everything) >= 200
    assert 0.4 <= len(EMERGENCIES) / len(everything) <= 0.6
    assert sum(language == "es" for language, _ in everything) >= len(everything) / 3


@override_settings(CITY311_CRISIS_PHONE="988")
class SuggestApiTests(BaseTestCase):
    def suggest(self, text: str) -> dict:
        r = self.client.get("/api/services/suggest", {"q": text})
        assert r.status_code == 200
        return r.json()

    def test_every_emergency_phrasing_brings_the_emergency_number(self):
        missed = [text for _, text in EMERGENCIES if not self.suggest(text)["emergency"]]
        assert missed == []
        body = self.suggest("my father is having a heart attack")
        assert body["emergency_phone"] == "911"
        assert "911" in body["message"]

    def test_no_ordinary_problem_sharing_the_words_raises_it(self):
        alarms = [text for _, text in ORDINARY if self.suggest(text)["emergency"]]
        assert alarms == []
        body = self.suggest("the fire hydrant is leaking")
        assert body["emergency"] is False and "emergency_phone" not in body

    def test_self_harm_also_gives_the_citys_crisis_line(self):
        for _, text in SELF_HARM:
            assert self.suggest(text).get("crisis_phone") == "988", text
        assert "crisis_phone" not in self.suggest("a man with a gun in the lobby")

    def test_prompts_are_counted_without_the_words(self):
        self.suggest("someone is breaking into my apartment right now")
        self.suggest("someone is breaking into my apartment right now")
        self.suggest("pothole on my street")
        rows = list(EmergencyPrompt.objects.values_list("channel", "kind", "count"))
        assert rows == [("api", "violence", 2)]
        fields = {f.name for f in EmergencyPrompt._meta.get_fields()}
        assert fields == {"id", "day", "channel", "kind", "count"}


@override_settings(CITY311_CRISIS_PHONE="988")
class PortalTests(BaseTestCase):
    def test_the_search_says_call_911_before_any_service(self):
        r = self.client.get("/report/", {"q": "my mom is not breathing rn"})
        page = r.content.decode()
        assert 'data-testid="emergency"' in page
        assert "Call 911 now" in page
        assert page.index('data-testid="emergency"') < page.index('id="q"')

    def test_spanish_words_on_the_spanish_page(self):
        r = self.client.get("/report/", {"q": "mi hijo no respira"}, HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(r, 'data-testid="emergency"')
        self.assertContains(r, "Llame al 911 ahora")

    def test_an_ordinary_search_has_no_prompt(self):
        r = self.client.get("/report/", {"q": "smoke detector missing"})
        self.assertNotContains(r, 'data-testid="emergency"')

    def test_the_description_step_stops_on_an_emergency_until_the_resident_says_it_is_not(self):
        self.client.get("/report/pothole/")
        url = "/report/pothole/description/"
        r = self.client.post(url, {"description": "i want to kill myself"})
        assert r.status_code == 200
        self.assertContains(r, 'data-testid="crisis"')
        self.assertContains(r, "988")
        r = self.client.post(url, {"description": "i want to kill myself", "not_emergency": "1"})
        assert r.status_code == 302
        r = self.client.post(url, {"description": "deep hole by the curb"})
        assert r.status_code == 302
        assert EmergencyPrompt.objects.get(kind="self_harm").count == 1


HEART_ATTACK = {
    "en": ("my father is having a heart attack", "Call 911 now"),
    "es": ("mi padre está teniendo un ataque al corazón", "Llame al 911 ahora"),
}


class EveryFreeTextTests(BaseTestCase):
    """The report search, the help search and the suggest API all read the words for an
    emergency first, in the resident's language."""

    def test_the_report_search_says_call_911_first_in_both_languages(self):
        for language, (text, call) in HEART_ATTACK.items():
            r = self.client.get("/report/", {"q": text}, HTTP_ACCEPT_LANGUAGE=language)
            page = r.content.decode()
            assert call in page, language
            assert page.index('data-testid="emergency"') < page.index('id="q"')

    def test_the_help_search_says_call_911_before_any_answer_in_both_languages(self):
        for language, (text, call) in HEART_ATTACK.items():
            r = self.client.get("/help/", {"q": text}, HTTP_ACCEPT_LANGUAGE=language)
            assert r.status_code == 200
            page = r.content.decode()
            assert call in page, language
            assert page.index('data-testid="emergency"') < page.index('id="q"')
        assert EmergencyPrompt.objects.get(channel="web", kind="medical").count == 2

    def test_the_help_search_for_an_ordinary_question_has_no_prompt(self):
        r = self.client.get("/help/", {"q": "when is recycling collected"})
        self.assertNotContains(r, 'data-testid="emergency"')
        assert not EmergencyPrompt.objects.exists()

    def test_the_suggest_api_answers_with_the_prompt_first_in_both_languages(self):
        for language, (text, call) in HEART_ATTACK.items():
            r = self.client.get("/api/services/suggest", {"q": text}, HTTP_ACCEPT_LANGUAGE=language)
            body = r.json()
            assert list(body)[:3] == ["query", "emergency", "emergency_phone"]
            assert body["emergency"] is True and body["emergency_phone"] == "911"
            assert call in body["message"], language
            assert list(body).index("message") < list(body).index("services")

    def test_the_inquiry_search_answers_with_the_prompt_first_in_both_languages(self):
        for language, (text, call) in HEART_ATTACK.items():
            r = self.client.get("/open311/inquiry/v1/search.json", {"q": text, "lang": language})
            assert r.status_code == 200
            body = r.json()
            assert list(body)[:3] == ["query", "emergency", "emergency_phone"]
            assert body["emergency"] is True and body["emergency_phone"] == "911"
            assert call in body["message"], language
            assert list(body).index("message") < list(body).index("results")
        assert EmergencyPrompt.objects.get(channel="api", kind="medical").count == 2

    def test_the_inquiry_search_for_an_ordinary_question_has_no_prompt(self):
        body = self.client.get("/open311/inquiry/v1/search.json", {"q": "pool hours"}).json()
        assert body["emergency"] is False and "emergency_phone" not in body
        assert not EmergencyPrompt.objects.exists()


class ConsoleTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def setUp(self):
        super().setUp()
        self.sign_in(self.omar)

    def test_the_search_says_transfer_to_the_transfer_line(self):
        with override_settings(CITY311_EMERGENCY_TRANSFER="718-555-0911"):
            r = self.client.get("/console/", {"q": "caller says theres smoke in the hallway"})
        self.assertContains(r, "Transfer the caller to 718-555-0911 now")
        assert EmergencyPrompt.objects.get(channel="console", kind="fire").count == 1

    def test_filing_waits_for_the_callers_word(self):
        values = {
            "address_string": "1382 Dumont Ave",
            "attribute[size]": "large",
            "description": "a car crashed into a crowd at the bus stop",
            "first_name": "Rosa",
            "phone": "718-555-0199",
        }
        r = self.client.post("/console/new/pothole/", values)
        self.assertContains(r, "Transfer the caller to 911 now")
        assert not ServiceRequest.objects.exists()
        r = self.client.post("/console/new/pothole/", {**values, "not_emergency": "1"})
        assert r.status_code == 302
        assert ServiceRequest.objects.count() == 1


@pytest.mark.django_db
def test_open311_says_call_911_first_in_the_service_notice(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CITY311_CRISIS_PHONE = "988"
    CityMixin().make_city()
    key = ApiKey.issue("FixMyStreet")[1]
    base = {
        "api_key": key,
        "service_code": "pothole",
        "lat": "40.6782",
        "long": "-73.9442",
        "attribute[size]": "large",
    }
    said = {**base, "description": "man passed out not breathing"}
    r = client.post(f"{BASE}/requests.json", said)
    assert r.status_code == 200
    assert r.json()[0]["service_notice"].startswith("This sounds like an emergency: call 911 now")
    r = client.post(f"{BASE}/requests.json", {**base, "description": "quiero morirme"})
    assert "988" in r.json()[0]["service_notice"]
    r = client.post(f"{BASE}/requests.json", {**base, "description": "deep hole by the hydrant"})
    assert r.json()[0]["service_notice"] is None
    assert EmergencyPrompt.objects.filter(channel="open311").count() == 2


@pytest.mark.django_db
def test_a_language_without_its_own_list_keeps_english_and_spanish_and_the_admin_says_so(
    admin_client,
):
    said = triage_coverage(["en", "es", "fr"])
    assert "en, es: own emergency word lists" in said
    assert "fr: no emergency word list of its own yet" in said
    city = City(name="Springfield", time_zone="America/Chicago", languages="en,es,fr")
    assert CityAdmin.emergency_triage(None, city) == said  # type: ignore[arg-type]
    from city311.triage.rules import read

    assert read("ma mère ne respire pas, my mom is not breathing", "fr").emergency
