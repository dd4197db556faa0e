"""What a webhook post says: the event, and the request as Open311 shows it, nothing more.

Public by design, like open311/render.py: no reporter's contact, no internal note's text, no
staff names, no event `data` beyond the closing resolution and an escalation's level.
"""

from __future__ import annotations

import json
from typing import TypedDict

from city311.open311 import render
from city311.open311.queries import public_row
from city311.servicerequests.models import RequestEvent


class EventPart(TypedDict):
    id: int
    kind: str
    label: str
    at: str | None
    public: bool
    # The note's text, only for a public event, with phone numbers and e-mail addresses cut.
    note: str | None
    resolution: str | None
    escalation_percent: int | None


class Payload(TypedDict):
    type: str
    timestamp: str | None
    data: dict[str, object]


def event_part(event: RequestEvent) -> EventPart:
    data = event.data or {}
    percent = data.get("percent")
    return {
        "id": event.pk,
        "kind": event.kind,
        "label": event.label,
        "at": render.w3c(event.at),
        "public": event.public,
        "note": render.public_text(event.note) if event.public else None,
        "resolution": data.get("resolution") or None,
        "escalation_percent": percent if isinstance(percent, int) else None,
    }


def payload(event: RequestEvent) -> Payload:
    """The Standard Webhooks shape: type, timestamp, data."""
    return {
        "type": event.kind,
        "timestamp": render.w3c(event.at),
        "data": {
            "event": event_part(event),
            "request": render.request(public_row(event.request), media_urls=[]),
        },
    }


def body(event: RequestEvent) -> str:
    return json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False)
