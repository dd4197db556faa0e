"""What of a request the public may read: the one rule for Open311, the public pages and the
open-data exports.

What residents and staff write is published without phone numbers and e-mail addresses
(`lib.text.redact`, in the city's phone region); a resident's description only for service
types whose `publish_description` the city left on. The catalog's `publish_description` is
also how a city marks a type as sensitive: its descriptions tell of people or private matters,
so the open data also rounds its points and leaves out its address (reports.opendata).
"""

from __future__ import annotations

from city311.lib import phones
from city311.lib.text import redact


def public_text(text: str) -> str:
    """What a person wrote, as it may be published: without phone numbers and e-mail
    addresses (residents type theirs into descriptions, comments and notes)."""
    return redact(text, phones.region())


def public_description(description: str, *, published: bool) -> str | None:
    """A request's description as published, or None for a type whose descriptions the city
    withholds (`ServiceType.publish_description`)."""
    return public_text(description) if published else None
