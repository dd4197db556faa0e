"""The phone tree: TwiML answers built with twilio's VoiceResponse, in English and Spanish.

Two levels at most: the language, then the main menu (status, bulky pickup day, "is it open?",
a person); each choice asks one thing (keypad or speech) and answers it. The views in
views_phone.py check Twilio's signature and call these; nothing here reads the request.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy
from twilio.twiml.voice_response import Gather, VoiceResponse

from city311.contacts import hours as call_centre
from city311.facilities import answers as facility_answers
from city311.facilities import hours as facility_hours
from city311.facilities.models import FacilityKind
from city311.pickups import lookup
from city311.servicerequests.errors import NoSuchRequest
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.queries import get_by_tracking_number
from city311.servicerequests.vocabulary import status_words

VOICES = {"en": "en-US", "es": "es-MX"}
# Facilities by key in the "is it open?" menu (speech works too).
FACILITY_KEYS = {
    "1": FacilityKind.POOL,
    "2": FacilityKind.LIBRARY,
    "3": FacilityKind.PARK,
    "4": FacilityKind.RECREATION_CENTRE,
}

# What the tree says, through the catalogue (city311/locale): Spanish is in the .po file like
# every other string, and each <Say> names the voice of the language it is in (VOICES).
PROMPTS: dict[str, str | Promise] = {
    "choose_en": pgettext_lazy("phone tree", "City 311. For English, press 1."),
    "choose_es": pgettext_lazy("phone tree", "For Spanish, press 2."),
    "main": pgettext_lazy(
        "phone tree",
        "For the status of a request, press 1. For your bulky pickup day, press 2. "
        "To ask if a place is open, press 3. To reach a person, press 0.",
    ),
    "status_ask": pgettext_lazy("phone tree", "Enter your tracking number, then press pound."),
    "status_typo": pgettext_lazy("phone tree", "That number has a wrong digit. Please try again."),
    "status_none": pgettext_lazy("phone tree", "No request has that number. Please try again."),
    "status_is": pgettext_lazy("phone tree", "Request {digits}. {status}."),
    "status_text": pgettext_lazy(
        "phone tree", "To get a text with the link, press 1. To go back, press star."
    ),
    "texted": pgettext_lazy("phone tree", "We will text you the link and updates. Goodbye."),
    "pickup_number": pgettext_lazy("phone tree", "Enter your house number, then press pound."),
    "pickup_street": pgettext_lazy("phone tree", "Say the street name."),
    "pickup_none": pgettext_lazy("phone tree", "We could not find that address. Please try again."),
    "pickup_days": pgettext_lazy("phone tree", "At {place}: {days}."),
    "pickup_no_route": pgettext_lazy("phone tree", "No pickups are scheduled at {place}."),
    "facility_ask": pgettext_lazy(
        "phone tree",
        "Say the place, or press 1 for pools, 2 for libraries, 3 for parks, 4 for recreation "
        "centers.",
    ),
    "facility_none": pgettext_lazy("phone tree", "We do not know that place. Please try again."),
    # No words of its own: the facility's name and its status text are already translated.
    "facility_is": "{name}: {status}.",
    "transfer": pgettext_lazy("phone tree", "Connecting you to a person."),
    "voicemail": pgettext_lazy(
        "phone tree",
        "Leave a message with your name, number and what you need after the tone, then hang "
        "up. We will call you back.",
    ),
    "voicemail_thanks": pgettext_lazy("phone tree", "Thank you. We will call you back. Goodbye."),
    "not_understood": pgettext_lazy("phone tree", "Sorry, I did not get that."),
}


def prompt(key: str, language: str, **values: object) -> str:
    with translation.override(language):
        return str(PROMPTS[key]).format(**values)


def _url(name: str, language: str, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"lang": language, **query}.items())
    return f"{reverse(f'intake:{name}')}?{params}"


def _say(target: VoiceResponse | Gather, text: str, language: str) -> None:
    target.say(text, language=VOICES.get(language, "en-US"))


def choose_language() -> VoiceResponse:
    r = VoiceResponse()
    g = r.gather(num_digits=1, action=reverse("intake:voice_language"), timeout=5)
    # Each offer in its own language, whatever the caller's phone is set to.
    _say(g, prompt("choose_en", "en"), "en")
    _say(g, prompt("choose_es", "es"), "es")
    r.redirect(reverse("intake:voice_language") + "?Digits=1")
    return r


def main_menu(language: str, before: str = "") -> VoiceResponse:
    r = VoiceResponse()
    g = r.gather(num_digits=1, action=_url("voice_menu", language), timeout=6)
    _say(g, (before + " " if before else "") + prompt("main", language), language)
    r.redirect(_url("voice_menu", language))
    return r


def welcome(language: str) -> VoiceResponse:
    """The menu the caller hears first in their language, after whether a person answers now
    (and, after hours, when people are back and that this menu still works)."""
    with translation.override(language):
        people = call_centre.availability().text
    return main_menu(language, people)


def ask(
    language: str, name: str, key: str, *, speech: bool = False, digits: int = 0, **query: str
) -> VoiceResponse:
    r = VoiceResponse()
    options: dict[str, object] = {"action": _url(name, language, **query), "timeout": 8}
    if speech:
        options.update(input="speech dtmf" if digits else "speech", language=VOICES[language])
        options["speech_timeout"] = "auto"
    if digits == 1:
        options["num_digits"] = 1
    else:
        options["finish_on_key"] = "#"
    g = r.gather(**options)
    _say(g, prompt(key, language), language)
    r.redirect(_url("voice_menu", language))
    return r


def menu_choice(language: str, digit: str) -> VoiceResponse:
    if digit == "1":
        return ask(language, "voice_status", "status_ask")
    if digit == "2":
        return ask(language, "voice_pickup", "pickup_number")
    if digit == "3":
        return ask(language, "voice_facility", "facility_ask", speech=True, digits=1)
    if digit == "0":
        return person(language)
    return main_menu(language, prompt("not_understood", language) if digit else "")


def slowly(number: str) -> str:
    """Digit by digit with pauses: "1, 2, 3. 4, 5..." (a comma is a short pause to TTS)."""
    return ". ".join(", ".join(group) for group in number.split("-"))


def status(language: str, digits: str) -> tuple[VoiceResponse, ServiceRequest | None]:
    with translation.override(language):
        try:
            sr = get_by_tracking_number(digits)
        except NoSuchRequest as e:
            key = "status_typo" if e.code == "not_a_tracking_number" else "status_none"
            r = ask(language, "voice_status", "status_ask")
            r.verbs.insert(0, _said(prompt(key, language), language))
            return r, None
        said = prompt(
            "status_is",
            language,
            digits=slowly(sr.tracking_number),
            status=status_words(sr.status, sr.resolution),
        )
    r = ask(language, "voice_status_text", "status_text", digits=1, n=sr.tracking_number)
    r.verbs.insert(0, _said(said, language))
    return r, sr


def _said(text: str, language: str) -> VoiceResponse:
    holder = VoiceResponse()
    holder.say(text, language=VOICES.get(language, "en-US"))
    return holder.verbs[0]


def goodbye(language: str, key: str) -> VoiceResponse:
    r = VoiceResponse()
    _say(r, prompt(key, language), language)
    r.hangup()
    return r


def pickup(language: str, number: str, street: str) -> tuple[VoiceResponse, bool]:
    """The pickup days at the address, and whether it was found."""
    found = lookup.find_place(address=f"{number} {street}")
    place = found.place
    if place is None and found.choices:
        best = found.choices[0]
        place = lookup.Place(best.address, best.lat, best.long)
    if place is None:
        r = ask(language, "voice_pickup", "pickup_number")
        r.verbs.insert(0, _said(prompt("pickup_none", language), language))
        return r, False
    with translation.override(language):
        today = timezone.localdate()
        found_days = lookup.upcoming(
            lat=place.lat, long=place.long, address_pk=place.address_pk, today=today, count=2
        )
        parts = []
        for item in found_days:
            days = ", ".join(facility_hours.long_date(p.day) for p in item.pickups)
            parts.append(f"{item.collection.translated('name', language)} {days}")
    key = "pickup_days" if parts else "pickup_no_route"
    return main_menu(
        language, prompt(key, language, place=place.label, days="; ".join(parts))
    ), True


def facility(language: str, digits: str, speech: str) -> tuple[VoiceResponse, bool]:
    """Whether the place asked about is open, and whether one was found."""
    question = str(FACILITY_KEYS.get(digits, "")) or speech
    with translation.override(language):
        found = facility_answers.answer(question) if question else None
        if found is None:
            r = ask(language, "voice_facility", "facility_ask", speech=True, digits=1)
            r.verbs.insert(0, _said(prompt("facility_none", language), language))
            return r, False
        said = prompt(
            "facility_is",
            language,
            name=found.facility.translated("name", language),
            status=found.status.text,
        )
    return main_menu(language, said), True


def person(language: str, *, transfer_to: str = "") -> VoiceResponse:
    """Open: the hours and a <Dial> to the call centre; closed: a voicemail to call back."""
    with translation.override(language):
        now = call_centre.availability()
    r = VoiceResponse()
    if now.open and transfer_to:
        _say(r, now.text + " " + prompt("transfer", language), language)
        r.dial(transfer_to)
        return r
    _say(r, now.text + " " + prompt("voicemail", language), language)
    r.record(
        action=_url("voice_voicemail", language),
        max_length=180,
        timeout=5,
        transcribe=True,
        transcribe_callback=_url("voice_transcription", language),
        play_beep=True,
    )
    return r
