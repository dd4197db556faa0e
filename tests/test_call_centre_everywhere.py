"""Every channel tells Rosa whether a person answers now, what works after hours and when
people are back: the one answer of contacts.hours.availability(), in English and Spanish,
on the demo's 24/7 and on Fresno's 7:00-18:00 Monday to Friday (issue 17)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from city311.cities import profile
from city311.contacts import hours
from city311.intake import mail as intake_mail
from city311.intake.models import MailStatus
from tests.test_intake_email import mail
from tests.test_intake_phone import city, said, text, twilio_post  # noqa: F401 - fixture

FRESNO = "Mo-Fr 07:00-18:00"
AFTER_HOURS = "At any time: report on the website, in the app or by text"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=profile.zone())


def closed_until_the_day_after_tomorrow() -> tuple[str, datetime]:
    """Hours that make the centre closed now, with people back two days from now at 3 a.m."""
    later = timezone.now().astimezone(profile.zone()) + timedelta(days=2)
    day = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")[later.weekday()]
    back = later.replace(hour=3, minute=0, second=0, microsecond=0)
    return f"{day} 03:00-03:01", back


# The one function, at set times


@override_settings(CITY311_CALL_CENTRE_HOURS=FRESNO)
def test_fresnos_hours_inside_and_outside_in_both_languages(db):
    monday_morning = hours.availability(at("2026-12-07T08:00"))
    assert (monday_morning.open, monday_morning.back_at) == (True, None)
    assert monday_morning.text == "A person answers now."
    friday_evening = hours.availability(at("2026-12-04T18:30"))
    assert friday_evening.back_at == at("2026-12-07T07:00")
    assert friday_evening.text.startswith(
        "Nobody answers the phones now; people are back Monday at 7"
    )
    assert AFTER_HOURS in friday_evening.text and "phone menu" in friday_evening.text
    with translation.override("es"):
        assert hours.availability(at("2026-12-07T08:00")).text == "Ahora le atiende una persona."
        spanish = hours.availability(at("2026-12-04T18:30")).text
    assert spanish.startswith("Ahora no hay nadie que atienda los teléfonos; volvemos")
    assert "A cualquier hora: reporte en el sitio web" in spanish


def test_the_demo_answers_around_the_clock(db):
    for moment in ("2026-12-05T03:00", "2026-12-25T23:59", "2026-12-07T12:00"):
        assert hours.availability(at(moment)).open, moment


# The machine-readable answer for apps


def test_an_app_reads_that_a_person_answers_now_on_the_demo(client, db):
    r = client.get("/contacts/hours.json")
    assert r.status_code == 200 and r["Cache-Control"] == "public, max-age=60"
    assert r.json() == {
        "person_available": True,
        "back_at": None,
        "text": "A person answers now.",
        "after_hours": ["website", "app", "sms", "phone_menu"],
        "hours": "24/7",
        "time_zone": str(profile.zone()),
        "language": "en",
    }


def test_an_app_reads_when_people_are_back_in_spanish(client, db):
    rule, back = closed_until_the_day_after_tomorrow()
    with override_settings(CITY311_CALL_CENTRE_HOURS=rule):
        answer = client.get("/contacts/hours.json", {"lang": "es"}).json()
    assert answer["person_available"] is False
    assert datetime.fromisoformat(answer["back_at"]) == back
    assert answer["text"].startswith("Ahora no hay nadie que atienda los teléfonos; volvemos")
    assert (answer["hours"], answer["language"]) == (rule, "es")


def test_a_language_the_city_does_not_offer_is_a_clear_400(client, db):
    r = client.get("/contacts/hours.json", {"lang": "xx"})
    assert r.status_code == 400
    assert r.json() == {"error": "lang must be one of en, es; it was 'xx'."}


# Texts: the last reply of a conversation


def test_a_text_report_filed_after_hours_says_when_people_are_back(city, client):  # noqa: F811
    rule, _back = closed_until_the_day_after_tomorrow()
    with override_settings(CITY311_CALL_CENTRE_HOURS=rule):
        text(client, "Sinkhole in the road")
        reply = text(client, "1382 Dumont Ave")
    assert "Your tracking number is" in reply
    assert "Nobody answers the phones now; people are back" in reply and AFTER_HOURS in reply


def test_on_the_demo_the_last_text_says_a_person_answers_in_the_residents_language(
    city,  # noqa: F811
    client,
):
    text(client, "Sinkhole in the road")
    filed = text(client, "1382 Dumont Ave")
    assert filed.endswith("A person answers now.")
    number = filed.split("tracking number is ")[1][:12]
    status = text(client, number)
    assert status.startswith(number) and status.endswith("A person answers now.")
    text(client, "Hay un bache en la calle", frm="+17185550111")
    text(client, "1300 Dumont Ave", frm="+17185550111")
    filed = text(client, "1", frm="+17185550111")
    assert "Su número de seguimiento" in filed
    assert filed.endswith("Ahora le atiende una persona.")


# The phone tree's greeting


def test_the_phone_trees_greeting_says_a_person_answers_on_the_demo(db, client):
    r = twilio_post(client, "/intake/voice/language", Digits="1", CallSid="CA1")
    first = said(r.content)[0]
    assert first.startswith("A person answers now. For the status of a request, press 1.")


def test_the_phone_trees_greeting_after_hours_in_spanish(db, client):
    rule, _back = closed_until_the_day_after_tomorrow()
    with override_settings(CITY311_CALL_CENTRE_HOURS=rule):
        r = twilio_post(client, "/intake/voice/language", Digits="2", CallSid="CA1")
    first = said(r.content)[0]
    assert first.startswith("Ahora no hay nadie que atienda los teléfonos; volvemos")
    assert "menú telefónico" in first and "oprima 1" in first


# The e-mail acknowledgement


@pytest.fixture
def mailoutbox(mailoutbox, city):  # noqa: F811
    """Only what is sent after the city is loaded (its staff's invitations are not ours)."""
    mailoutbox.clear()
    return mailoutbox


def receive(raw: bytes, capture):
    with capture(execute=True):
        return intake_mail.receive(raw)


def test_a_new_e_mail_is_acknowledged_with_whether_a_person_answers(
    city,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    rule, _back = closed_until_the_day_after_tomorrow()
    raw = mail("Broken bench", "The bench in the park is broken.", message_id="<m1@example.org>")
    with override_settings(CITY311_CALL_CENTRE_HOURS=rule):
        got = receive(raw, django_capture_on_commit_callbacks)
    assert got.status == MailStatus.WAITING
    (ack,) = mailoutbox
    assert ack.to == ["rosa@example.org"]
    assert ack.subject == "We received your message: Broken bench"
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.extra_headers["In-Reply-To"] == "<m1@example.org>"
    assert "A call taker will read your message" in ack.body
    assert "Nobody answers the phones now; people are back" in ack.body
    assert AFTER_HOURS in ack.body
    # Delivered again (same Message-ID): handled once, acknowledged once.
    receive(raw, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1


def test_a_spanish_e_mail_is_acknowledged_in_spanish(
    city,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    raw = mail("Banco roto", "Hay una banca rota en el parque, por favor.")
    receive(raw, django_capture_on_commit_callbacks)
    (ack,) = mailoutbox
    assert ack.subject == "Recibimos su mensaje: Banco roto"
    assert "Ahora le atiende una persona." in ack.body


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "auto-replied"}, {"X-Spam-Flag": "YES"}],
    ids=["automatic", "spam"],
)
def test_mail_from_machines_and_spam_gets_no_answer(
    city,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
    headers,
):
    got = receive(mail(headers=headers), django_capture_on_commit_callbacks)
    assert got.status in (MailStatus.AUTOMATIC, MailStatus.QUARANTINED)
    assert mailoutbox == []
