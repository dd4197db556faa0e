"""The console's call log: the caller's screen starts a contact, a wrap-up ends it.

Thin views over city311.contacts: they parse, call a contacts function, render. Filing a
request ends the contact in views.new_request; answering with an article ends it here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from city311.accounts.decorators import staff_required
from city311.contacts import access, actions, queries, reports, wakeups
from city311.contacts.models import Interaction, Kind, WrapUp
from city311.geo.locate import LocationProblem, locate
from city311.intake import callbacks
from city311.intake.models import Voicemail
from city311.knowledge import queries as knowledge
from city311.knowledge.actions import record_article_use
from city311.lib import phones
from city311.lib.phones import PhoneError
from city311.servicerequests.access import get_request_for_user
from city311.servicerequests.errors import NoSuchRequest
from city311.servicerequests.vocabulary import Channel

_logs = staff_required(
    can=access.can_log_contacts,
    message=gettext_lazy("Call takers and administrators log contacts here."),
)
_supervises = staff_required(
    can=access.can_see_call_centre_reports,
    message=gettext_lazy("Supervisors, managers and administrators see the call centre's figures."),
)
_sees = staff_required(
    can=access.can_see_contacts,
    message=gettext_lazy(
        "Call takers, supervisors, managers and administrators see callers' contacts."
    ),
)


def handle_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds // 60}:{seconds % 60:02d}"


# Where a call taker takes contacts, kept for their session: the phones, or a walk-in counter.
DESKS = (Channel.PHONE, Channel.WALK_IN)
DESK_KEY = "console_desk"


def desk(request: HttpRequest) -> str:
    """The channel of the contacts this call taker starts (and of the requests they file)."""
    chosen = request.session.get(DESK_KEY, Channel.PHONE)
    return chosen if chosen in DESKS else Channel.PHONE


def in_hand(request: HttpRequest) -> Interaction | None:
    """The contact the call taker has in hand, started now if none (for those who log)."""
    if not access.can_log_contacts(request.user):
        return None
    return actions.current_or_start(request.user, channel=desk(request))


def waiting(request: HttpRequest) -> Interaction | None:
    """The contact in hand if there is one (a phone system may have popped it); none started."""
    if not access.can_log_contacts(request.user):
        return None
    return actions.current_for(request.user)


def end_call(http: HttpRequest, /, **outcome: Any) -> Interaction | None:
    """End the contact in hand with `outcome`, and tell the call taker its handle time."""
    if not access.can_log_contacts(http.user):
        return None
    # No contact in hand (nothing was done before the outcome): it is still counted, from now.
    current = actions.current_or_start(http.user, channel=desk(http))
    try:
        ended = actions.end_interaction(current, by=http.user, **outcome)
    except actions.InteractionError as e:
        messages.error(http, e.message)
        return None
    if ended.handle_seconds is not None:
        messages.success(
            http,
            _("Logged: %(kind)s, handle time %(time)s.")
            % {
                "kind": ended.get_kind_display().lower(),
                "time": handle_text(ended.handle_seconds),
            },
        )
    return ended


def card_context(request: HttpRequest, interaction: Interaction | None) -> dict[str, Any]:
    """The caller card for the number (and address) of the contact in hand, or of the query."""
    phone = interaction.phone if interaction is not None else ""
    if interaction is None and access.can_log_contacts(request.user):
        # No call in hand yet: the caller form is still offered; typing a number starts one.
        return {
            "card": queries.caller_card("", user=request.user),
            "call": None,
            "can_log": True,
            "handle_text": handle_text,
            "desk": desk(request),
            "desks": _desk_choices(),
        }
    card = queries.caller_card(
        phone, user=request.user, exclude=interaction.pk if interaction else None
    )
    return {
        "card": card,
        "call": interaction,
        "can_log": True,
        "handle_text": handle_text,
        "desk": desk(request),
        "desks": _desk_choices(),
    }


def _desk_choices() -> list[tuple[str, str]]:
    return [(Channel.PHONE, _("The phones")), (Channel.WALK_IN, _("A walk-in counter"))]


@_logs
@require_POST
def choose_desk(request: HttpRequest) -> HttpResponse:
    """The call taker says where they take contacts: the phones, or a walk-in counter. Every
    contact they start from then on (and every request they file) is on that channel, so a
    counter's visitors are counted as walk-ins, not as calls."""
    chosen = request.POST.get("desk", "")
    if chosen not in DESKS:
        return HttpResponse(
            _("Choose where you take contacts: one of %(desks)s.") % {"desks": ", ".join(DESKS)},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    request.session[DESK_KEY] = chosen
    messages.success(
        request,
        _("The contacts you start are logged as: %(channel)s.")
        % {"channel": str(Channel(chosen).label).lower()},
    )
    return redirect("console:start")


@_logs
@require_POST
def caller(request: HttpRequest) -> HttpResponse:
    """The call taker types the caller's number (and, when given, an address): the card."""
    interaction = actions.current_or_start(request.user, channel=desk(request))
    context = card_context(request, interaction)
    status = 200
    try:
        actions.set_caller(interaction, phone=request.POST.get("phone", "")[:40])
        context = card_context(request, interaction)
    except PhoneError as e:
        context["phone_error"] = e.message
        status = 400
    address = " ".join(request.POST.get("address", "").split())[:200]
    if address:
        context.update(address=address, **_near(request, address))
    template = "console/_card.html" if request.headers.get("HX-Request") else "console/card.html"
    return render(request, template, context, status=status)


def _near(request: HttpRequest, address: str) -> dict[str, Any]:
    try:
        place = locate(lat=None, long=None, address_string=address)
    except LocationProblem as e:
        return {"address_error": e.message}
    if place is None or place.lat is None or place.long is None:
        return {"address_error": _("That place is not on the city's map: check the address.")}
    return {"near": queries.open_requests_near(place.lat, place.long, user=request.user)}


@_sees
def card(request: HttpRequest) -> HttpResponse:
    """A caller's card by number, outside a call (a supervisor's look-up). The number is
    posted, never put in the address: addresses end up in access logs."""
    context: dict[str, Any] = {"call": None, "handle_text": handle_text, "lookup": True}
    context["card"] = queries.caller_card("", user=request.user)
    status = 200
    if request.method == "POST":
        try:
            number = phones.normalise(request.POST.get("phone", "")[:40])
            context["card"] = queries.caller_card(number, user=request.user)
        except PhoneError as e:
            context["phone_error"] = e.message
            status = 400
    return render(request, "console/card.html", context, status=status)


@_supervises
def supervisor(request: HttpRequest) -> HttpResponse:
    """The call centre's figures for a day: today's live (its stream, supervisor_stream, says
    when a contact changed and the page asks for its figures again; every 30 seconds only
    while the stream is not connected), or any earlier day's (`?day=2026-12-03`), as the
    reports read them."""
    today = reports.city_today()
    day, problem = _day_asked(request.GET.get("day", ""), today)
    if problem:
        context = {"problem": problem, "today": today, "day": today}
        return render(request, "console/supervisor.html", context, status=400)
    # Read before the figures: a contact changed in between wakes the stream at once.
    version = reports.log_version(day) if day == today else ""
    figures = reports.figures_for(day)
    partial = request.headers.get("HX-Request")
    template = "console/_supervisor.html" if partial else "console/supervisor.html"
    context = {
        "f": figures,
        "targets": reports.TARGETS,
        "handle_text": handle_text,
        "voicemails": callbacks.to_call_back() if day == today else None,
        "today": today,
        "day": day,
        "live": day == today,
        "version": version,
        "day_before": day - timedelta(days=1),
        "day_after": day + timedelta(days=1) if day < today else None,
    }
    return render(request, template, context)


def _day_asked(given: str, today: date) -> tuple[date, str]:
    """The day a supervisor asked for (the city's date), or what is wrong with it."""
    given = given.strip()[:20]
    if not given:
        return today, ""
    try:
        day = date.fromisoformat(given)
    except ValueError:
        return today, _("“%(given)s” is not a day: give it as 2026-12-03.") % {"given": given}
    if day.year < 1900:
        return today, _("“%(given)s” is before the city kept any contacts.") % {"given": given}
    if day > today:
        return today, _("%(day)s has not come yet: choose today or an earlier day.") % {
            "day": day.isoformat()
        }
    return day, ""


@_logs
def callback_queue(request: HttpRequest) -> HttpResponse:
    """The phone tree's after-hours messages to call back, and today's called back."""
    return _callback_page(request)


def _callback_page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    start, _end = reports.day_bounds(reports.city_today())
    context = {
        "waiting": callbacks.to_call_back(),
        "done": callbacks.called_back_since(start),
        "outcomes": [(k, Kind(k).label) for k in callbacks.OUTCOMES],
        "error": error,
    }
    return render(request, "console/callbacks.html", context, status=status)


@_logs
@require_POST
def called_back(request: HttpRequest, pk: int) -> HttpResponse:
    """A call taker called the resident back: what came of it, on the message's interaction."""
    voicemail = get_object_or_404(Voicemail.objects.select_related("interaction"), pk=pk)
    sr = None
    number = request.POST.get("tracking_number", "").strip()[:20]
    try:
        if number:
            sr = get_request_for_user(request.user, number)
        callbacks.mark_called_back(
            voicemail, kind=request.POST.get("outcome", ""), by=request.user, request=sr
        )
    except NoSuchRequest as e:
        return _callback_page(request, e.message, status=400)
    except callbacks.CallbackError as e:
        return _callback_page(request, e.message, status=400)
    messages.success(request, _("Called back: recorded."))
    return redirect("console:callbacks")


@_logs
def popped(request: HttpRequest) -> HttpResponse:
    """Has the phone system given this call taker a call? Asked by the console between
    calls (static/console/popped.js): when its stream says a call came, and every 2 seconds
    while the stream is not connected. "Nothing new" is a bare 204 (one indexed read, no
    template: htmx swaps nothing). A call in hand is the caller's card, swapped in place of
    the empty one, with the wrap-up and a line for screen readers out of band: no reload,
    so nothing the call taker typed on the page is lost."""
    call = waiting(request) if actions.has_call_in_hand(request.user) else None
    if call is None:
        return HttpResponse(status=204)
    return render(request, "console/_popped_call.html", card_context(request, call))


# Server-sent events: one stream per console between calls, open at most
# CITY311_CONSOLE_STREAM_SECONDS; the browser opens the next one by itself after RETRY_MS.
RETRY_MS = 500
_streams_lock = threading.Lock()
_streams_open = 0


def _take_a_stream() -> bool:
    """A place for one more open stream in this process (CITY311_CONSOLE_STREAMS), so that
    waiting consoles never take every thread a page needs."""
    global _streams_open
    with _streams_lock:
        if _streams_open >= settings.CITY311_CONSOLE_STREAMS:
            return False
        _streams_open += 1
        return True


class _Stream:
    """A stream's events: `retry`, then `news` the moment `wait()` says so, or `quiet` when
    it times out. Its place is given back when the server closes the response, whether the
    events were sent, cut short by the browser, or never started."""

    def __init__(self, wait: Callable[[], bool], news: str, quiet: str) -> None:
        self.wait, self.news, self.quiet, self.closed = wait, news, quiet, False

    def __iter__(self) -> Iterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        yield self.news if self.wait() else self.quiet

    def close(self) -> None:
        global _streams_open
        with _streams_lock:
            if not self.closed:
                self.closed = True
                _streams_open -= 1


@_logs
def call_stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The console's stream between calls (text/event-stream): an `event: call` the moment
    the phone system's "answered" gives this call taker a call, then the stream ends and the
    page asks `popped` for the card. Nothing in it names the caller.

    The news comes through the database (contacts.wakeups), so the webhook may land on any
    web process or machine. When this process has no place for another stream the answer is
    a 204, which tells the browser not to reconnect: the page's 2-second poll goes on."""
    staff: Any = request.user  # signed in (_logs)

    def given() -> bool:
        return wakeups.wait_for_call(
            staff.pk,
            lambda: actions.has_call_in_hand(staff),
            seconds=settings.CITY311_CONSOLE_STREAM_SECONDS,
        )

    return _event_stream(given, "event: call\ndata: answered\n\n", ": no call yet\n\n")


def _event_stream(
    wait: Callable[[], bool], news: str, quiet: str
) -> HttpResponse | StreamingHttpResponse:
    if not _take_a_stream():
        return HttpResponse(status=204)
    # Django closes the response (and so the _Stream) when the server is done with it.
    response = StreamingHttpResponse(_Stream(wait, news, quiet), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    # nginx and other proxies: pass each event on as it comes.
    response["X-Accel-Buffering"] = "no"
    return response


@_supervises
def supervisor_stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Today's live view's stream (`?since=` the log version its figures were read at,
    contacts.reports.log_version): `event: contacts` the moment a contact anywhere starts, is
    answered, wrapped up or ends (or at once when the log is already past `since`), then
    the stream ends and the page asks for its figures again. Nothing in it names anyone.
    Shares the console's places for streams (CITY311_CONSOLE_STREAMS): a 204 when none is
    free, and the page's 30-second poll goes on."""
    since = request.GET.get("since", "")[:80]

    def changed() -> bool:
        return wakeups.wait_for_contacts(
            lambda: reports.log_version() != since,
            seconds=settings.CITY311_CONSOLE_STREAM_SECONDS,
        )

    return _event_stream(changed, "event: contacts\ndata: changed\n\n", ": nothing new\n\n")


@_logs
@require_POST
def answered(request: HttpRequest, slug: str) -> HttpResponse:
    """An information-only call, answered with this article: counted, logged, next call."""
    found = knowledge.article_for(request.user, slug)
    if found is None:
        raise Http404(_("There is no such article."))
    record_article_use(found, by=request.user)  # type: ignore[arg-type]
    end_call(request, kind=Kind.INFORMATION, article=found)
    return redirect("console:start")


WRAP_UPS = {
    "transfer_911": (Kind.TRANSFER, WrapUp.TRANSFERRED_911),
    "transfer": (Kind.TRANSFER, WrapUp.TRANSFERRED),
    "status": (Kind.STATUS_CHECK, WrapUp.STATUS_GIVEN),
    "complaint": (Kind.COMPLAINT, WrapUp.COMPLAINT_NOTED),
    "information": (Kind.INFORMATION, WrapUp.ANSWERED),
    "callback": (Kind.INFORMATION, WrapUp.CALLBACK),
    "dropped": (Kind.INFORMATION, WrapUp.DROPPED),
}


@_logs
@require_POST
def wrap_up(request: HttpRequest) -> HttpResponse:
    """End the call without filing: a transfer, a status given, a complaint, a dropped call."""
    outcome = request.POST.get("outcome", "")
    if outcome not in WRAP_UPS:
        return HttpResponse(
            _("Choose how the call ended: one of %(outcomes)s.")
            % {"outcomes": ", ".join(WRAP_UPS)},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    kind, code = WRAP_UPS[outcome]
    sr = None
    number = request.POST.get("tracking_number", "").strip()[:20]
    if number:
        try:
            sr = get_request_for_user(request.user, number)
        except NoSuchRequest as e:
            messages.error(request, e.message)
            return redirect("console:start")
    end_call(request, kind=kind, wrap_up=code, request=sr)
    return redirect("console:start")
