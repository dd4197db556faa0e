"""Subscriptions by address: Rosa asks on the lookup page to hear when the pickups at her
address change, confirms from the first message, hears of a snow day with her next days, and
stops by the link; Lucía subscribes her phone through the API in Spanish and replies STOP.
Nobody hears anything before confirming, nor of another route's change."""

from __future__ import annotations

import re
import socket
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ

from city311.pickups.models import AddressSubscription, SubscriptionNotice
from city311.pickups.subscriptions import make_notice, send_notices, unsubscribe
from city311.pickups.tasks import send_pickup_reminders
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


# Sending goes through the outbox's one send loop (city311.lib.outbox.Sender).


def _subscribers(count: int) -> None:
    for i in range(count):
        AddressSubscription.objects.create(
            address_id=_point("dumont-1300"), email=f"r{i}@example.com", confirmed_at=timezone.now()
        )


def _no_smtp_server(settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port


def test_a_notice_the_mail_server_cannot_take_backs_off_then_is_a_dead_letter(city, settings):
    _subscribers(1)
    change()
    _no_smtp_server(settings)
    settings.CITY311_DELIVERY_MAX_ATTEMPTS = 2
    assert send_notices() == 0
    notice = SubscriptionNotice.objects.get()
    assert (notice.status, notice.attempts) == ("pending", 1)
    assert "could not reach the SMTP server" in notice.error
    assert notice.due_at > timezone.now() + timedelta(seconds=50)
    assert send_notices() == 0  # not due yet: no second try
    SubscriptionNotice.objects.update(due_at=timezone.now())
    send_notices()
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("failed", 2)


def test_when_the_mail_server_cannot_be_reached_one_try_is_spent_for_all_waiting(city, settings):
    _subscribers(25)  # more than a worker claims at once
    change()
    _no_smtp_server(settings)
    assert send_notices() == 0
    tries = Counter(SubscriptionNotice.objects.values_list("status", "attempts"))
    assert tries == {("pending", 1): 1, ("pending", 0): 24}


def test_a_notice_held_by_a_worker_on_another_machine_is_sent_once_its_lease_runs_out(
    city, settings
):
    _subscribers(1)
    change()
    # Another machine's worker claimed it; nothing else waits.
    elsewhere = {"status": "sending", "claim": "t", "claimed_by": "elsewhere:1:1:1", "attempts": 1}
    SubscriptionNotice.objects.update(claimed_at=timezone.now(), **elsewhere)
    mail.outbox.clear()
    assert send_notices() == 0 and not mail.outbox  # its claim stands
    SubscriptionNotice.objects.update(claimed_at=timezone.now() - timedelta(hours=1))
    send_pickup_reminders()  # the quarter-hour sweep queues the send a worker then runs
    assert "city311.pickups.subscriptions.send_notices" in [q.func() for q in OrmQ.objects.all()]
    assert send_notices() == 1
    assert [m.to for m in mail.outbox] == [["r0@example.com"]]
    assert SubscriptionNotice.objects.get().status == "sent"
