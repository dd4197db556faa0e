"""Reading Open311 parameters as real clients send them.

Parameters come from the query string or the form body (the body wins); an empty parameter
is the same as an absent one; `attribute[CODE]`, `attribute[CODE][]` and repeated
`attribute[CODE]` keys all carry answers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from city311.cities import profile
from city311.servicerequests.models import Channel
from city311.servicerequests.validation import Submission

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](?:\[\])?$")
# A "+hh:mm" offset whose "+" arrived as a space because the client did not encode it.
_SPACED_OFFSET = re.compile(r" (\d\d:?\d\d)$")


class BadParameter(ValueError):
    """A parameter cannot be used; the message names it and says what to send instead."""


class Params:
    def __init__(self, request: HttpRequest) -> None:
        self._lists: dict[str, list[str]] = {}
        sources = [request.GET]
        if request.method == "POST":
            sources.append(request.POST)
        for source in sources:
            for key in source:
                values = [v for v in source.getlist(key) if v.strip()]
                if values:
                    self._lists[key] = values

    def get(self, name: str) -> str:
        """The parameter's value, "" when absent or empty. Of repeated keys, the last."""
        values = self._lists.get(name)
        return values[-1].strip() if values else ""

    def getlist(self, name: str) -> list[str]:
        return self._lists.get(name, [])

    def csv(self, name: str) -> list[str]:
        """A comma-separated list parameter, with spaces around items ignored."""
        return [item.strip() for item in self.get(name).split(",") if item.strip()]

    def flag(self, name: str) -> bool:
        return self.get(name).lower() in ("true", "1", "yes")

    def attributes(self) -> dict[str, str | list[str]]:
        """Answers by attribute code: one value as a string, several as a list."""
        answers: dict[str, list[str]] = {}
        for key, values in self._lists.items():
            match = _ATTRIBUTE.match(key)
            if match:
                answers.setdefault(match.group(1), []).extend(values)
        return {code: v[0] if len(v) == 1 else v for code, v in answers.items()}

    def submission(self, service_code: str, *, application: str) -> Submission:
        """A POST's fields as the domain takes them; checking them is submit_request's job."""
        return Submission(
            service_code=service_code,
            channel=Channel.OPEN311,
            application=application,
            description=self.get("description"),
            lat=self.get("lat") or None,
            long=self.get("long") or None,
            address_string=self.get("address_string"),
            address_id=self.get("address_id"),
            zipcode=self.get("zipcode")[:10],
            answers=self.attributes(),
            first_name=self.get("first_name"),
            last_name=self.get("last_name"),
            email=self.get("email"),
            phone=self.get("phone"),
            media_url=self.get("media_url"),
        )

    def datetime(self, name: str) -> datetime | None:
        text = self.get(name)
        if not text:
            return None
        return parse_w3c(text, name)

    def integer(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        text = self.get(name)
        if not text:
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadParameter(f"{name} must be a whole number, such as {default}.") from None
        if not minimum <= value <= maximum:
            raise BadParameter(f"{name} must be between {minimum} and {maximum}.")
        return value


def parse_w3c(text: str, name: str) -> datetime:
    """A W3C datetime: Z or ±hh:mm, fractional seconds and a space for the T allowed.

    A datetime without an offset is taken in the city's time zone.
    """
    text = _SPACED_OFFSET.sub(r"+\1", text.strip())
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise BadParameter(
            f"{name} {text[:40]!r} is not a W3C datetime; send one such as 2026-01-01T00:00:00Z."
        )
    if not 1900 <= moment.year <= 9998:
        # Before 1900 a city's zone has offsets in seconds (New York's -04:56:02), which
        # PostgreSQL refuses; no 311 request is that old, or from after 9998.
        raise BadParameter(f"{name} must be a date between the years 1900 and 9998.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=profile.zone())
    return moment.astimezone(UTC)
