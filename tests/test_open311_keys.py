"""API keys in the admin: Ada issues and revokes them; the key is shown once, never kept."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from city311.open311.models import ApiKey, hash_key
from tests import test_open311 as reads

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
        {"application": "SeeClickFix", "rate_limit_per_minute": "30", "active": "on"},
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
