"""Subscriptions by address: Rosa asks on the lookup page to hear when the pickups at her
address change, confirms from the first message, hears of a snow day with her next days, and
stops by the link; Lucía subscribes her phone through the API in Spanish and replies STOP.
Nobody hears anything before confirming, nor of another route's change."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone

from city311.pickups.models import AddressSubscription, SubscriptionNotice
from city311.pickups.subscriptions import make_notice, send_notices, unsubscribe
from tests.test_intake_phone import twilio_post
from tests.test_pickup_api import load_city

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
LUCIA = "+17185550199"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = LOCMEM


@pytest.fixture
def city(db, tmp_path):
    load_city(tmp_path)


def lena() -> Client:
    client = Client()
    client.force_login(User.objects.get(username="lena"))
    return client


def change(route: str = "north", collection: str = "trash", reason: str = "Snow emergency"):
    day = timezone.localdate() + timedelta(days=3)
    r = lena().post(
        "/pickups/staff/changes",
        {"what": "exception", "day": day.isoformat(), "action": "cancel", "reason": reason}
        | {"route": route, "collection": collection, "reason_es": "Emergencia por nieve"},
    )
    assert r.status_code == 302, r.content


def link(text: str, path: str) -> str:
    found = re.search(rf"https?://[^\s\"<]+({re.escape(path)}[^\s\"<]+)", text)
    assert found, text
    return found.group(1)


def to_rosa() -> list[mail.EmailMessage]:
    send_notices()
    return [m for m in mail.outbox if m.to == ["rosa@example.com"]]


def test_rosa_subscribes_on_the_lookup_page_confirms_hears_of_a_snow_day_and_stops(client, city):
    page = client.get("/pickups/", {"address_id": "dumont-1300"}).content.decode()
    assert "Tell me when my pickups change" in page and "data-subscribe" in page
    r = client.post(
        "/pickups/subscribe",
        {"address_id": "dumont-1300", "email": "rosa@example.com", "language": "en"},
    )
    assert r.status_code == 200 and "Open its link to confirm" in r.content.decode()
    (confirmation,) = to_rosa()
    assert "Confirm" in confirmation.subject and "1300 DUMONT AVENUE" in confirmation.body
    # Not confirmed yet: a change is not told.
    change(reason="Strike")
    assert to_rosa() == [confirmation]
    page = client.get(link(confirmation.body, "/pickups/subscription/confirm/"))
    assert page.status_code == 200 and "Confirmed" in page.content.decode()
    mail.outbox.clear()
    change()
    (notice,) = to_rosa()
    assert notice.subject == "Pickup change at 1300 DUMONT AVENUE"
    assert "Why: Snow emergency" in notice.body and "Bulky items:" in notice.body
    assert "/pickups/?address_id=dumont-1300" in notice.body
    stop = link(notice.body, "/pickups/subscription/stop/")
    assert notice.extra_headers["List-Unsubscribe"].endswith(stop + ">")
    # Sent once: nothing is left to send.
    assert send_notices() == 0
    # GET asks (a link checker stops no one), POST stops.
    assert "Stop these messages" in client.get(stop).content.decode()
    assert AddressSubscription.objects.get().unsubscribed_at is None
    assert "no more messages" in client.post(stop).content.decode()
    mail.outbox.clear()
    change(reason="Flood")
    assert to_rosa() == []


def test_subscribing_twice_sends_one_confirmation(client, city):
    for _ in range(2):
        r = client.post(
            "/pickups/subscribe", {"address_id": "dumont-1300", "email": "rosa@example.com"}
        )
        assert r.status_code == 200
    assert len(to_rosa()) == 1 and AddressSubscription.objects.count() == 1


def test_after_a_stop_subscribing_again_asks_to_confirm_again(client, city):
    sub = AddressSubscription.objects.create(
        address_id=_point("dumont-1300"), email="rosa@example.com", confirmed_at=timezone.now()
    )
    unsubscribe(sub)
    r = client.post(
        "/pickups/subscribe", {"address_id": "dumont-1300", "email": "rosa@example.com"}
    )
    assert r.status_code == 200 and "Open its link to confirm" in r.content.decode()
    (confirmation,) = to_rosa()
    change()
    assert to_rosa() == [confirmation]
    client.get(link(confirmation.body, "/pickups/subscription/confirm/"))
    change(reason="Flood")
    assert len(to_rosa()) == 2


def test_a_change_to_another_route_is_not_told(client, city):
    sub = AddressSubscription.objects.create(
        address_id=_point("dumont-1300"), email="rosa@example.com", confirmed_at=timezone.now()
    )
    change(route="south")
    assert not SubscriptionNotice.objects.filter(subscription=sub).exists()
    change(route="")  # every route
    assert SubscriptionNotice.objects.filter(subscription=sub).count() == 1


def _point(address_id: str) -> int:
    from city311.geo.models import AddressPoint

    return AddressPoint.objects.get(source_id=address_id).pk


def test_lucia_subscribes_her_phone_through_the_api_in_spanish_and_replies_stop(client, city):
    r = client.post(
        "/api/pickups/subscriptions",
        {"address_id": "dumont-1350", "phone": "718-555-0199", "language": "es"},
        content_type="application/json",
    )
    assert r.status_code == 201
    assert r.json() == {"address_id": "dumont-1350", "channels": ["sms"], "confirmed": False}
    assert LUCIA not in r.content.decode()
    send_notices()
    confirm = SubscriptionNotice.objects.get(kind="confirm")
    assert confirm.status == "sent" and confirm.channel == "sms"
    text = make_notice(confirm).sms
    assert "confirme" in text.lower() or "confirm" in text.lower()
    assert client.get(link(text, "/pickups/subscription/confirm/")).status_code == 200
    change()
    send_notices()
    notice = SubscriptionNotice.objects.get(kind="change")
    assert notice.status == "sent"
    words = make_notice(notice).sms
    assert "Emergencia por nieve" in words and "Responda STOP" in words
    twilio_post(client, "/notifications/sms/twilio", From=LUCIA, Body="STOP", MessageSid="SM1")
    assert AddressSubscription.objects.get().sms_stopped_at is not None
    change(reason="Flood")
    assert SubscriptionNotice.objects.filter(kind="change").count() == 1


def test_bad_subscriptions_are_400s_that_name_the_field(client, city):
    cases = [
        ({"address_id": "nowhere", "email": "rosa@example.com"}, "address_id"),
        ({"address_id": "dumont-1300"}, "email"),
        ({"address_id": "dumont-1300", "email": "rosa@"}, "email"),
        ({"address_id": "dumont-1300", "phone": "12"}, "phone"),
    ]
    for body, field in cases:
        r = client.post("/api/pickups/subscriptions", body, content_type="application/json")
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.content)
    page = client.post("/pickups/subscribe", {"address_id": "dumont-1300"})
    assert page.status_code == 400 and "Give an e-mail address or a phone number" in (
        page.content.decode()
    )
    spanish = client.post(
        "/pickups/subscribe", {"address_id": "dumont-1300"}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert spanish.status_code == 400
    assert "Indique un correo electrónico o un número de teléfono" in spanish.content.decode()
    assert not AddressSubscription.objects.exists()


def test_a_link_we_did_not_make_is_a_404(client, city):
    assert client.get("/pickups/subscription/stop/forged").status_code == 404
    assert client.get("/pickups/subscription/confirm/forged").status_code == 404
