"""Pages residents reach from a message, without signing in, and the inbound SMS webhook."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from city311.notifications import actions, tokens
from city311.notifications.forms import SurveyForm
from city311.notifications.models import Follower
from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import RequestEvent

logger = logging.getLogger(__name__)

# An opened link and whom it is for, or the page that says why it cannot be used.
Opened = tuple[tokens.Link, Follower] | HttpResponse


def _open(request: HttpRequest, kind: tokens.LinkKind, token: str) -> Opened:
    """The link and its follower, or the page that says why the link cannot be used."""
    link = tokens.read(kind, token)
    followers = Follower.objects.select_related("request")
    follower = followers.filter(pk=link.values.get("f", 0)).first() if link else None
    if link is None or follower is None:
        return render(request, "notifications/invalid_link.html", status=404)
    if link.expired:
        with translation.override(follower.language):
            context = {"kind": kind.name, "sr": follower.request, "link": link}
            # 410 Gone: the link was ours and worked once; it will not again.
            return render(request, "notifications/expired_link.html", context, status=410)
    return link, follower


@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST stops: link checkers that open every link must not unsubscribe anyone.

    The POST needs no CSRF token: mail programs post here directly (RFC 8058 one-click), and
    the signed token already proves the link came from a message.
    """
    opened = _open(request, tokens.UNSUBSCRIBE, token)
    if isinstance(opened, HttpResponse):
        return opened
    _, follower = opened
    with translation.override(follower.language):
        if request.method == "POST":
            actions.unsubscribe(follower)
        return render(
            request,
            "notifications/unsubscribe.html",
            {"follower": follower, "sr": follower.request, "done": request.method == "POST"},
        )


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    opened = _open(request, tokens.CONFIRM, token)
    if isinstance(opened, HttpResponse):
        return opened
    _, follower = opened
    with translation.override(follower.language):
        actions.confirm(follower)
        return render(request, "notifications/confirmed.html", {"sr": follower.request})


def survey(request: HttpRequest, token: str) -> HttpResponse:
    opened = _open(request, tokens.SURVEY, token)
    if isinstance(opened, HttpResponse):
        return opened
    link, follower = opened
    event = RequestEvent.objects.filter(pk=link.values.get("e", 0)).first()
    if event is None:
        return render(request, "notifications/invalid_link.html", status=404)
    sr = actions.survey_request(event)
    with translation.override(follower.language):
        if request.method != "POST":
            form = SurveyForm(initial={"fixed": request.GET.get("fixed", "")})
            return render(request, "notifications/survey.html", {"form": form, "sr": sr})
        form = SurveyForm(request.POST)
        if form.is_valid():
            try:
                response = actions.answer_survey(
                    follower,
                    event,
                    fixed=form.fixed_answer(),
                    satisfaction=form.satisfaction_answer(),
                    comment=form.cleaned_data["comment"],
                )
            except RequestError as e:
                form.add_error(None, e.message)
            else:
                return render(
                    request, "notifications/survey_thanks.html", {"sr": sr, "response": response}
                )
        return render(request, "notifications/survey.html", {"form": form, "sr": sr}, status=400)


def is_keyword(body: str) -> bool:
    return body.strip().upper() in {"HELP", "INFO", "AYUDA"}


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """Twilio posts each SMS sent to the city's number here; STOP stops texts to that number.

    Only a request Twilio signed is acted on: without the token the signature cannot be
    checked, and anyone could stop (or restart) texts to any number.
    """
    if not settings.TWILIO_AUTH_TOKEN:
        logger.warning("Inbound SMS refused: TWILIO_AUTH_TOKEN is not set, so it cannot be checked")
        return HttpResponseForbidden(
            "Inbound texts are off: set TWILIO_AUTH_TOKEN so their signatures can be checked.",
            content_type="text/plain; charset=utf-8",
        )
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    url = settings.CITY311_SITE_URL.rstrip("/") + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not validator.validate(url, request.POST.dict(), signature):
        # No number in the log: it is a resident's personal data.
        logger.warning("Inbound SMS refused: its X-Twilio-Signature does not match %s", url)
        return HttpResponseForbidden(
            "The X-Twilio-Signature does not match this request.",
            content_type="text/plain; charset=utf-8",
        )
    body = request.POST.get("Body", "")
    if actions.handle_inbound_sms(request.POST.get("From", ""), body) or is_keyword(body):
        # An empty reply: Twilio itself answers STOP and HELP with the carrier's required texts.
        return HttpResponse(
            '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml"
        )
    # Any other text is a report or a status check by text (city311.intake.texting).
    from city311.intake.views_phone import text_reply

    return text_reply(request)
