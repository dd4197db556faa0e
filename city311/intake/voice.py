"""The phone tree: TwiML answers built with twilio's VoiceResponse, in English and Spanish.

Two levels at most: the language, then the main menu (status, bulky pickup day, "is it open?",
a person); each choice asks one thing (keypad or speech) and answers it. The views in
views_phone.py check Twilio's signature and call these; nothing here reads the request.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone, translation
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

PROMPTS: dict[str, tuple[str, str]] = {
    "welcome": ("City 311.", "Ciudad 311."),
    "main": (
        "For the status of a request, press 1. For your bulky pickup day, press 2. "
        "To ask if a place is open, press 3. To reach a person, press 0.",
        "Para el estado de una solicitud, oprima 1. Para su día de recogida de objetos "
        "grandes, oprima 2. Para saber si un lugar está abierto, oprima 3. Para hablar con "
        "una persona, oprima 0.",
    ),
    "status_ask": (
        "Enter your tracking number, then press pound.",
        "Marque su número de seguimiento y luego la tecla numeral.",
    ),
    "status_typo": (
        "That number has a wrong digit. Please try again.",
        "Ese número tiene un dígito equivocado. Intente de nuevo.",
    ),
    "status_none": (
        "No request has that number. Please try again.",
        "Ninguna solicitud tiene ese número. Intente de nuevo.",
    ),
    "status_is": ("Request {digits}. {status}.", "Solicitud {digits}. {status}."),
    "status_text": (
        "To get a text with the link, press 1. To go back, press star.",
        "Para recibir un texto con el enlace, oprima 1. Para volver, oprima asterisco.",
    ),
    "texted": (
        "We will text you the link and updates. Goodbye.",
        "Le enviaremos el enlace y novedades por texto. Adiós.",
    ),
    "pickup_number": (
        "Enter your house number, then press pound.",
        "Marque el número de su casa y luego la tecla numeral.",
    ),
    "pickup_street": ("Say the street name.", "Diga el nombre de la calle."),
    "pickup_none": (
        "We could not find that address. Please try again.",
        "No encontramos esa dirección. Intente de nuevo.",
    ),
    "pickup_days": ("At {place}: {days}.", "En {place}: {days}."),
    "pickup_no_route": (
        "No pickups are scheduled at {place}.",
        "No hay recogidas programadas en {place}.",
    ),
    "facility_ask": (
        "Say the place, or press 1 for pools, 2 for libraries, 3 for parks, 4 for recreation "
        "centers.",
        "Diga el lugar, u oprima 1 para piscinas, 2 para bibliotecas, 3 para parques, 4 para "
        "centros recreativos.",
    ),
    "facility_none": (
        "We do not know that place. Please try again.",
        "No conocemos ese lugar. Intente de nuevo.",
    ),
    "facility_is": ("{name}: {status}.", "{name}: {status}."),
    "transfer": ("Connecting you to a person.", "Le comunicamos con una persona."),
    "voicemail": (
        "Leave a message with your name, number and what you need after the tone, then hang "
        "up. We will call you back.",
        "Deje un mensaje con su nombre, número y lo que necesita después del tono, y cuelgue. "
        "Le llamaremos.",
    ),
    "voicemail_thanks": (
        "Thank you. We will call you back. Goodbye.",
        "Gracias. Le llamaremos. Adiós.",
    ),
    "not_understood": ("Sorry, I did not get that.", "Perdón, no le entendí."),
}


def prompt(key: str, language: str, **values: object) -> str:
    english, spanish = PROMPTS[key]
    return (spanish if language == "es" else english).format(**values)


def _url(name: str, language: str, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"lang": language, **query}.items())
    return f"{reverse(f'intake:{name}')}?{params}"


def _say(target: VoiceResponse | Gather, text: str, language: str) -> None:
    target.say(text, language=VOICES.get(language, "en-US"))


def choose_language() -> VoiceResponse:
    r = VoiceResponse()
    g = r.gather(num_digits=1, action=reverse("intake:voice_language"), timeout=5)
    _say(g, "City 311. For English, press 1.", "en")
    _say(g, "Para español, oprima 2.", "es")
    r.redirect(reverse("intake:voice_language") + "?Digits=1")
    return r


def main_menu(language: str, before: str = "") -> VoiceResponse:
    r = VoiceResponse()
    g = r.gather(num_digits=1, action=_url("voice_menu", language), timeout=6)
    _say(g, (before + " " if before else "") + prompt("main", language), language)
    r.redirect(_url("voice_menu", language))
    return r


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
