"""Calendar (iCalendar, RFC 5545 with RFC 7986's REFRESH-INTERVAL) and RSS feeds.

Built with the `icalendar` library and Django's feed generator. Every UID is derived from a
stable key (an event's slug; a City-today item's date and key), never from a database id or
the time of generation, so regenerating a feed changes no UID and a calendar app updates
entries in place instead of duplicating them. DTSTAMP is the row's last change, so an
unchanged feed is byte-for-byte the same and its ETag holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import feedgenerator
from django.utils.xmlutils import SimplerXMLGenerator
from icalendar import Calendar, vDuration, vRecur, vText
from icalendar import Event as VEvent

from city311.facilities.models import Event
from city311.facilities.today import Item

PRODID = "-//city311//facilities//EN"


def calendar(name: str, description: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("description", description)
    refresh = vDuration(timedelta(days=1))
    refresh.params["VALUE"] = "DURATION"
    cal.add("refresh-interval", refresh)
    cal.add("x-published-ttl", "P1D")
    return cal


def event_uid(event: Event, host: str) -> str:
    return f"event-{event.slug}@{host}"


def add_event(cal: Calendar, event: Event, *, host: str, url: str, language: str) -> None:
    """One VEVENT per event; a repeating event carries its RRULE, so calendars expand it."""
    item = VEvent()
    item.add("uid", event_uid(event, host))
    item.add("dtstamp", event.updated_at)
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at)
    item.add("summary", event.translated("title", language))
    description = event.translated("description", language)
    if description:
        item.add("description", description)
    where = event.facility.translated("name", language) if event.facility else event.place
    if event.facility is not None and event.facility.address:
        where = f"{where}, {event.facility.address}"
    if where:
        item.add("location", vText(where))
    if event.facility is not None and event.facility.lat is not None:
        item.add("geo", (event.facility.lat, event.facility.long))
    item.add("categories", [event.get_category_display()])
    item.add("url", url)
    if event.recurrence:
        item.add("rrule", vRecur.from_ical(event.recurrence))
    cal.add_component(item)


def today_uid(day: date, item: Item, host: str) -> str:
    digest = hashlib.sha1(f"{day.isoformat()}|{item.key}".encode()).hexdigest()
    return f"{digest}@{host}"


def add_today(cal: Calendar, day: date, item: Item, *, host: str, stamp: datetime) -> None:
    """A City-today item as an all-day entry (an event keeps its own times)."""
    entry = VEvent()
    entry.add("uid", today_uid(day, item, host))
    entry.add("dtstamp", stamp)
    if item.starts is not None and item.ends is not None:
        entry.add("dtstart", item.starts)
        entry.add("dtend", item.ends)
    else:
        entry.add("dtstart", day)
        entry.add("dtend", day + timedelta(days=1))
    entry.add("summary", item.title)
    if item.body:
        entry.add("description", item.body)
    entry.add("categories", [item.kind])
    cal.add_component(entry)


def ics_bytes(cal: Calendar) -> bytes:
    cal.add_missing_timezones()
    return cal.to_ical()


class TodayRss(feedgenerator.Rss201rev2Feed):
    """RSS 2.0 with dc:coverage (the day an item is about), as 311 Today's feed carries it."""

    def rss_attributes(self) -> dict[str, str]:
        attrs = super().rss_attributes()
        attrs["xmlns:dc"] = "http://purl.org/dc/elements/1.1/"
        return attrs

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        if item.get("coverage"):
            handler.addQuickElement("dc:coverage", item["coverage"])


def today_rss(
    *,
    title: str,
    link: str,
    description: str,
    days: Iterable[tuple[date, str, str, str]],
    stamp: datetime,
) -> bytes:
    """One item a day: (day, title, html, link)."""
    feed = TodayRss(title=title, link=link, description=description)
    for day, day_title, html, day_link in days:
        feed.add_item(
            title=day_title,
            link=day_link,
            description=html,
            unique_id=f"{link}#{day.isoformat()}",
            unique_id_is_permalink=False,
            pubdate=stamp,
            coverage=day.isoformat(),
        )
    return feed.writeString("utf-8").encode()
