"""API keys in the admin: Ada issues and revokes them; the key is shown once, never kept."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from city311.open311 import keys
from city311.open311.models import ApiKey, hash_key
from tests import test_open311 as reads
from tests import test_open311_post as posts
from tests.test_open311 import error_descriptions

# The city, as the read tests set it up.
city = reads.city


@pytest.fixture(autouse=True)
def _administrators_hold_the_keys(city):
    # Until accounts.roles.ADMIN_APPS lists "open311", give Ada the key permissions here.
    city.ada.user_permissions.set(Permission.objects.filter(content_type__app_label="open311"))


def test_ada_issues_a_key_in_the_admin_and_sees_it_once(client, city):
    client.force_login(city.ada)
    r = client.post(
        "/admin/open311/apikey/add/",
        # As the form sends it: the status words select starts on Open311's.
        {
            "application": "SeeClickFix",
            "rate_limit_per_minute": "30",
            "status_words": "open311",
            "active": "on",
        },
    )
    assert r.status_code == 302
    messages = " ".join(str(m) for m in get_messages(r.wsgi_request))
    raw = re.search(r"The new key for SeeClickFix is (\S+) —", messages).group(1)
    key = ApiKey.objects.get()
    assert key.key_hash == hash_key(raw)
    assert raw not in key.key_hash
    assert ApiKey.objects.authenticate(raw) == key
    assert client.get("/admin/open311/apikey/").status_code == 200


def test_ada_revokes_a_key_and_it_stops_working(client, city):
    key, raw = ApiKey.issue("Old app")
    client.force_login(city.ada)
    client.post(
        "/admin/open311/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert ApiKey.objects.authenticate(raw) is None


def test_pat_cannot_open_the_keys(client, city):
    client.force_login(city.pat)
    assert client.get("/admin/open311/apikey/").status_code == 302


def test_a_key_in_use_is_not_read_from_the_database_on_every_post(client, city):
    _, raw = ApiKey.issue("Busy app")
    assert posts.post(client, "json", posts.pothole(raw)).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert posts.post(client, "json", posts.pothole(raw)).status_code == 200
    assert not [q for q in queries.captured_queries if "open311_apikey" in q["sql"]]


def test_a_key_revoked_in_the_admin_stops_working_within_a_second(client, city):
    key, raw = ApiKey.issue("Old app")
    # The key is in use: this process remembers it.
    assert posts.post(client, "json", posts.pothole(raw)).status_code == 200
    client.force_login(city.ada)
    client.post("/admin/open311/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    client.logout()
    time.sleep(keys.KEY_CACHE_SECONDS)
    r = posts.post(client, "json", posts.pothole(raw))
    assert "api_key is not valid" in error_descriptions(r, "json", 403)


def test_a_new_limit_set_in_the_admin_applies_within_a_second(client, city):
    key, raw = ApiKey.issue("Chatty app", rate_limit_per_minute=100)
    assert posts.post(client, "json", posts.pothole(raw)).status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(rate_limit_per_minute=1)
    time.sleep(keys.KEY_CACHE_SECONDS)
    r = posts.post(client, "json", posts.pothole(raw))
    assert "may post 1 a minute" in error_descriptions(r, "json", 429)
