"""Facilities in the shape of Open311 Inquiry v1 (`facilities/<category>.json`,
`facilities/<id>.json`), with structured hours beside the free-text `displayed_hours`.

Extensions to Inquiry v1, all additive: `opening_hours` (the OpenStreetMap expression the
engine evaluates, holidays written out for this year and the next two), `hours` (the next
seven days, structured), `open_now` and `status`, `exceptions` (dated closures and changed
hours ahead), `url`, and `phone`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from city311.cities import profile
from city311.facilities import hours, queries
from city311.facilities.models import Facility, FacilityKind
from city311.lib import openinghours as engine

# Inquiry v1 names a facility's type in words ("Pool", "Library").
_ALL = "all"


class FacilitySummary(TypedDict):
    id: str
    facility_name: str
    expiration: None
    type: str
    brief_description: str


def _summary(f: Facility) -> FacilitySummary:
    return {
        "id": f.slug,
        "facility_name": f.translated("name"),
        "expiration": None,
        "type": f.get_kind_display(),
        "brief_description": f.translated("description").split("\n")[0][:300],
    }


def _span(s: engine.Span) -> dict[str, str]:
    return {
        "opens": f"{s.opens:%H:%M}",
        "closes": "24:00" if s.closes == engine.MIDNIGHT else f"{s.closes:%H:%M}",
    }


def detail(request: HttpRequest, f: Facility, at: datetime) -> dict[str, Any]:
    schedule = hours.schedule_for(f)
    status = hours.status(f, at, schedule)
    city = profile.current()
    years = range(at.year, at.year + 3)
    return {
        **_summary(f),
        "description": f.translated("description"),
        "features": [{"feature_name": name} for name in f.feature_list()],
        "address": f.address,
        "additional_address_information": "",
        "city": city.name,
        "displayed_hours": hours.displayed_hours(schedule, at.date()),
        "lat": f.lat,
        "long": f.long,
        "eligibility_information": "",
        "phone": f.phone,
        "url": request.build_absolute_uri(reverse("facilities:facility", args=[f.slug])),
        "open_now": status.open,
        "status": status.text,
        "next_change": status.change.isoformat() if status.change else None,
        "time_zone": city.time_zone,
        "opening_hours": engine.expression(schedule, years),
        "hours": [
            {
                "date": d.day.isoformat(),
                "open": [_span(s) for s in d.spans],
                "holiday": hours.holiday_text(d),
                "exception": d.exception.reason if d.exception else "",
            }
            for d in engine.week(schedule, at.date())
        ],
        "exceptions": [
            {
                "first_day": x.first_day.isoformat(),
                "last_day": x.last_day.isoformat(),
                "closed": x.closed,
                "open": [] if x.closed else [_span(s) for s in hours.exception_of(x).spans],
                "reason": x.translated("reason"),
            }
            for x in hours.upcoming_exceptions(f, at.date())
        ],
    }


@require_GET
def facilities(request: HttpRequest, name: str) -> JsonResponse:
    """`all`, a category (pool, library...) or one facility's id."""
    rows = queries.facilities()
    if name == _ALL:
        return JsonResponse([_summary(f) for f in rows], safe=False)
    if name in FacilityKind.values:
        return JsonResponse([_summary(f) for f in rows.filter(kind=name)], safe=False)
    f = rows.filter(slug=name).first()
    if f is None:
        kinds = ", ".join(FacilityKind.values)
        return JsonResponse(
            {
                "error": f"There is no facility or category {name[:60]!r}: use all, one of "
                f"{kinds}, or a facility id from all.json."
            },
            status=404,
        )
    return JsonResponse([detail(request, f, hours.now_local())], safe=False)
