"""Twilio's webhooks for the phone tree and for texting. Every one is refused with a 403 unless
Twilio signed it with the city's auth token (X-Twilio-Signature over the full URL and form)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from city311.contacts.actions import record_interaction, start_interaction
from city311.contacts.models import Kind
from city311.intake import texting, voice
from city311.intake.models import Voicemail
from city311.notifications.actions import follow_request
from city311.servicerequests.models import Channel, ServiceRequest

logger = logging.getLogger(__name__)
View = Callable[[HttpRequest], HttpResponse]


def signed_by_twilio(view: View) -> View:
    @csrf_exempt
    @require_POST
    @wraps(view)
    def checked(request: HttpRequest) -> HttpResponse:
        token = settings.TWILIO_AUTH_TOKEN
        url = settings.CITY311_SITE_URL.rstrip("/") + request.get_full_path()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not RequestValidator(token).validate(url, request.POST.dict(), signature):
            # Neither the number nor the words in the log: a resident's personal data.
            logger.warning("Twilio webhook refused: no valid X-Twilio-Signature for %s", url)
            return HttpResponseForbidden(
                "The X-Twilio-Signature does not match this request.",
                content_type="text/plain; charset=utf-8",
            )
        return view(request)

    return checked


def _twiml(response: VoiceResponse | MessagingResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml")


def _language(request: HttpRequest) -> str:
    return "es" if request.GET.get("lang") == "es" else "en"


def text_reply(request: HttpRequest) -> HttpResponse:
    """A text that is no keyword (notifications.views.twilio_inbound checked its signature)."""
    reply = texting.receive(
        texting.Inbound(
            sid=request.POST.get("MessageSid", ""),
            phone=request.POST.get("From", ""),
            body=request.POST.get("Body", "")[:1600],
            media_url=request.POST.get("MediaUrl0", ""),
        )
    )
    response = MessagingResponse()
    response.message(reply)
    return _twiml(response)


@signed_by_twilio
def incoming(request: HttpRequest) -> HttpResponse:
    return _twiml(voice.choose_language())


@signed_by_twilio
def language(request: HttpRequest) -> HttpResponse:
    digits = request.POST.get("Digits") or request.GET.get("Digits", "")
    return _twiml(voice.welcome("es" if digits == "2" else "en"))


@signed_by_twilio
def menu(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    digit = request.POST.get("Digits", "")[:1]
    if digit == "0":
        return _twiml(voice.person(lang, transfer_to=settings.CITY311_CALL_CENTRE_TRANSFER))
    return _twiml(voice.menu_choice(lang, digit))


@signed_by_twilio
def status(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    response, sr = voice.status(lang, request.POST.get("Digits", "")[:20])
    if sr is not None:
        _log(request, Kind.STATUS_CHECK, lang, sr)
    return _twiml(response)


def _log(request: HttpRequest, kind: str, lang: str, sr: ServiceRequest | None = None) -> None:
    """Each answer the tree gives is a contact in the call centre's figures (channel phone)."""
    now = timezone.now()
    record_interaction(
        channel=Channel.PHONE,
        kind=kind,
        started_at=now,
        ended_at=now,
        phone=request.POST.get("From", ""),
        language=lang,
        request=sr,
    )


@signed_by_twilio
def status_text(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    if request.POST.get("Digits") != "1":
        return _twiml(voice.main_menu(lang))
    sr = ServiceRequest.objects.filter(tracking_number=request.GET.get("n", "")).first()
    caller = request.POST.get("From", "")
    if sr is None or not caller:
        return _twiml(voice.main_menu(lang))
    # The link goes out through the outbox, as the confirmation of following the request.
    follow_request(sr, phone=caller, language=lang)
    return _twiml(voice.goodbye(lang, "texted"))


@signed_by_twilio
def pickup(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    number = "".join(c for c in request.POST.get("Digits", "") if c.isdigit())[:8]
    if not number:
        return _twiml(voice.ask(lang, "voice_pickup", "pickup_number"))
    return _twiml(
        voice.ask(lang, "voice_pickup_street", "pickup_street", speech=True, number=number)
    )


@signed_by_twilio
def pickup_street(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    number = "".join(c for c in request.GET.get("number", "") if c.isdigit())[:8]
    street = request.POST.get("SpeechResult", "")[:120]
    response, answered = voice.pickup(lang, number, street)
    if answered:
        _log(request, Kind.INFORMATION, lang)
    return _twiml(response)


@signed_by_twilio
def facility(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    response, answered = voice.facility(
        lang, request.POST.get("Digits", "")[:1], request.POST.get("SpeechResult", "")[:120]
    )
    if answered:
        _log(request, Kind.INFORMATION, lang)
    return _twiml(response)


@signed_by_twilio
def voicemail(request: HttpRequest) -> HttpResponse:
    """The recording is done: an open, unanswered phone interaction for the console's queue."""
    lang = _language(request)
    call_sid = request.POST.get("CallSid", "")[:64]
    if call_sid and not Voicemail.objects.filter(call_sid=call_sid).exists():
        seconds = request.POST.get("RecordingDuration", "")
        try:
            with transaction.atomic():
                interaction = start_interaction(
                    channel=Channel.PHONE,
                    phone=request.POST.get("From", ""),
                    language=lang,
                    answered=False,
                    at=timezone.now(),
                )
                Voicemail.objects.create(
                    call_sid=call_sid,
                    interaction=interaction,
                    recording_url=request.POST.get("RecordingUrl", "")[:500],
                    recording_seconds=int(seconds) if seconds.isdigit() else None,
                )
        except IntegrityError:
            pass  # Twilio re-delivered this call's recording: kept once.
    return _twiml(voice.goodbye(lang, "voicemail_thanks"))


@signed_by_twilio
def transcription(request: HttpRequest) -> HttpResponse:
    Voicemail.objects.filter(call_sid=request.POST.get("CallSid", "")[:64]).update(
        transcription=request.POST.get("TranscriptionText", "")[:5000]
    )
    return HttpResponse(status=204)
