"""Public pages: facilities (nearest first, open now?), a facility's hours, events, city today.

Public by design: nothing here carries a resident's personal data.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from city311.cities import profile
from city311.facilities import answers, feeds, hours, queries
from city311.facilities.events import upcoming
from city311.facilities.models import (
    Event,
    EventCategory,
    Facility,
    FacilityKind,
    HoursException,
    Notice,
)
from city311.facilities.today import Item, items_between, items_for
from city311.lib import openinghours as engine

EVENT_DAYS = 42
# 311 Today's window: the day, 7 before and 31 after.
TODAY_PAST, TODAY_FUTURE = 7, 31


@require_GET
def facility_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind and kind not in FacilityKind.values:
        kind = ""
    q = request.GET.get("q", "").strip()[: queries.MAX_QUERY]
    near_text = request.GET.get("near", "").strip()
    point, found_address, problem = answers.near_point(near_text)
    rows = queries.listed(kind=kind, q=q, near=point)
    return render(
        request,
        "facilities/list.html",
        {
            "rows": rows,
            "kinds": FacilityKind.choices,
            "kind": kind,
            "q": q,
            "near": near_text[:200],
            "found_address": found_address,
            "problem": problem,
            "section": "facilities",
        },
        status=200,
    )


@require_GET
def answer(request: HttpRequest) -> HttpResponse:
    """The answer card for a question about a kind of place: for the home page's search to
    show (htmx), or to open on its own. 404 when the question names no kind of place."""
    question = request.GET.get("q", "").strip()[: queries.MAX_QUERY]
    found = answers.card(question, request.GET.get("near", "").strip())
    if found is None:
        return HttpResponse(
            _("The question names no kind of place (pool, library, park, beach...)."),
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    return render(request, "facilities/_answer_card.html", found)


@require_GET
def facility(request: HttpRequest, slug: str) -> HttpResponse:
    f = get_object_or_404(queries.facilities(), slug=slug)
    schedule = hours.schedule_for(f)
    now = hours.now_local()
    today = now.date()
    week = engine.week(schedule, today)
    city = profile.current()
    soon = upcoming(list(queries.events().filter(facility=f)), now, EVENT_DAYS)[:10]
    return render(
        request,
        "facilities/facility.html",
        {
            "f": f,
            "status": hours.status(f, now, schedule),
            "week": [
                (
                    hours.long_date(d.day),
                    hours.spans_text(d.spans),
                    hours.reason_of(f, d.exception) if d.exception else hours.holiday_text(d),
                )
                for d in week
            ],
            "exceptions": [
                (x, hours.long_date(x.first_day), hours.long_date(x.last_day))
                for x in hours.upcoming_exceptions(f, today)
            ],
            "events": soon,
            "tiles": getattr(settings, "CITY311_MAP_TILES", ""),
            "zone": city.time_zone,
            "section": "facilities",
        },
    )


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category and category not in EventCategory.values:
        category = ""
    q = request.GET.get("q", "").strip()[: queries.MAX_QUERY]
    now = hours.now_local()
    found = upcoming(queries.matching_events(category=category, q=q), now, EVENT_DAYS)
    return render(
        request,
        "facilities/events.html",
        {
            "occurrences": found,
            "categories": EventCategory.choices,
            "category": category,
            "q": q,
            "section": "events",
        },
    )


@require_GET
def event(request: HttpRequest, slug: str) -> HttpResponse:
    e = get_object_or_404(queries.events(), slug=slug)
    now = hours.now_local()
    return render(
        request,
        "facilities/event.html",
        {"e": e, "next": upcoming([e], now, 120)[:8], "section": "events"},
    )


def _day_param(request: HttpRequest) -> date | None:
    text = request.GET.get("date", "")
    if not text:
        return hours.now_local().date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@require_GET
def today(request: HttpRequest) -> HttpResponse:
    day = _day_param(request)
    if day is None:
        return HttpResponse(
            _("Give the date as YYYY-MM-DD, for example ?date=2026-07-04."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return render(
        request,
        "facilities/today.html",
        {
            "day": day,
            "day_text": hours.long_date(day),
            "items": items_for(day),
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "section": "today",
        },
    )


# Feeds: JSON, iCalendar and RSS, cacheable by ETag and Last-Modified.


def _cacheable(
    request: HttpRequest, body: bytes, content_type: str, modified: datetime | None
) -> HttpResponse:
    """`body` with an ETag of its content; a 304 when the client already has it."""
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    last_modified = int(modified.timestamp()) if modified else None
    cached = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if cached is not None:
        return cached
    response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    # A day, as REFRESH-INTERVAL says; public: nothing here is personal.
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _host(request: HttpRequest) -> str:
    return request.get_host().split(":")[0] or "city311"


def _latest(events: list[Event]) -> datetime | None:
    return max((e.updated_at for e in events), default=None)


def _events_ics(request: HttpRequest, events: list[Event], name: str) -> HttpResponse:
    language = get_language() or "en"
    city = profile.current()
    cal = feeds.calendar(
        name,
        _("Events in %(city)s, from %(brand)s.") % {"city": city.name, "brand": city.brand_name},
    )
    for e in events:
        url = request.build_absolute_uri(reverse("facilities:event", args=[e.slug]))
        feeds.add_event(cal, e, host=_host(request), url=url, language=language)
    return _cacheable(
        request, feeds.ics_bytes(cal), "text/calendar; charset=utf-8", _latest(events)
    )


@require_GET
def events_ics(request: HttpRequest) -> HttpResponse:
    city = profile.current()
    return _events_ics(request, list(queries.events()), _("%(city)s events") % {"city": city.name})


@require_GET
def category_ics(request: HttpRequest, category: str) -> HttpResponse:
    if category not in EventCategory.values:
        raise Http404(_("There is no such event category."))
    label = EventCategory(category).label
    rows = list(queries.events().filter(category=category))
    return _events_ics(request, rows, f"{profile.current().name}: {label}")


@require_GET
def facility_ics(request: HttpRequest, slug: str) -> HttpResponse:
    f = get_object_or_404(Facility.objects.filter(active=True), slug=slug)
    rows = list(queries.events().filter(facility=f))
    return _events_ics(request, rows, f.translated("name"))


def _today_window(day: date) -> list[tuple[date, list[Item]]]:
    found = items_between(day - timedelta(days=TODAY_PAST), day + timedelta(days=TODAY_FUTURE))
    return sorted(found.items())


def _today_modified() -> datetime | None:
    """The latest change to anything the City-today feeds show: their entries' DTSTAMP."""
    stamps = [
        model.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        for model in (Event, Notice, Facility, HoursException)
    ]
    found = [s for s in stamps if s is not None]
    return max(found) if found else None


@require_GET
def today_json(request: HttpRequest) -> HttpResponse:
    import json

    day = _day_param(request)
    if day is None:
        return HttpResponse(
            json.dumps({"error": "Give the date as YYYY-MM-DD, for example ?date=2026-07-04."}),
            status=400,
            content_type="application/json",
        )
    payload = {
        "date": day.isoformat(),
        "items": [
            {
                "kind": i.kind,
                "key": i.key,
                "title": i.title,
                "body": i.body,
                "url": request.build_absolute_uri(i.url),
                "starts": i.starts.isoformat() if i.starts else None,
                "ends": i.ends.isoformat() if i.ends else None,
            }
            for i in items_for(day)
        ],
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    return _cacheable(request, body, "application/json", None)


@require_GET
def today_ics(request: HttpRequest) -> HttpResponse:
    city = profile.current()
    day = hours.now_local().date()
    modified = _today_modified()
    stamp = modified or datetime.combine(day, time(0), tzinfo=city.zone)
    cal = feeds.calendar(
        _("%(city)s today") % {"city": city.name},
        _("Closures, changed hours, notices and events, day by day."),
    )
    for d, items in _today_window(day):
        for item in items:
            feeds.add_today(cal, d, item, host=_host(request), stamp=stamp)
    return _cacheable(request, feeds.ics_bytes(cal), "text/calendar; charset=utf-8", None)


@require_GET
def today_rss(request: HttpRequest) -> HttpResponse:
    from django.utils.html import format_html, format_html_join

    city = profile.current()
    day = hours.now_local().date()
    stamp = _today_modified() or datetime.combine(day, time(0), tzinfo=city.zone)
    link = request.build_absolute_uri(reverse("facilities:today"))
    days = []
    for d, items in _today_window(day):
        html = (
            format_html(
                "<ul>{}</ul>",
                format_html_join(
                    "", "<li><strong>{}</strong> {}</li>", ((i.title, i.body) for i in items)
                ),
            )
            if items
            else _("Nothing out of the ordinary.")
        )
        title = _("%(city)s today for %(date)s") % {"city": city.name, "date": hours.long_date(d)}
        days.append((d, title, str(html), f"{link}?date={d.isoformat()}"))
    body = feeds.today_rss(
        title=_("%(city)s today") % {"city": city.name},
        link=link,
        description=_("Closures, changed hours, notices and events, day by day."),
        days=days,
        stamp=stamp,
    )
    return _cacheable(request, body, "application/rss+xml; charset=utf-8", None)
