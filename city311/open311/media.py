"""Photos applications link to: fetched from the hosts the city allows, kept like uploads.

FixMyStreet sends a report's or an update's photo as `media_url`, a link. The "media"
consumer of the event stream reads filed requests and notes; for each link whose host is in
CITY311_MEDIA_FETCH_HOSTS it writes a `PhotoFetch` outbox row. `fetch_due_photos` (its `then`,
and the sweep) fetches each: only over http(s), only from an allowed host, through the outbound
guard (lib/outbound.py: every address of the host a public one, connected to as checked, so a
link cannot make the server read the city's own network), without following redirects, at most
CITY311_MEDIA_MAX_BYTES, and then through `attachments.clean_photo` like every upload (its type
told by its bytes, EXIF and other metadata gone). A photo that will never do (too large, not
a photo, refused) is a dead letter at once; a host that does not answer is tried again later.
Links from other hosts stay links: staff see them on the work page and open them themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from city311.lib import outbound, outbox
from city311.open311.models import PhotoFetch
from city311.servicerequests import attachments
from city311.servicerequests.models import Channel, RequestEvent
from city311.servicerequests.vocabulary import Event

log = logging.getLogger(__name__)

CLAIM = 10
TIMEOUT = (5, 20)
POLICY = outbox.Policy(
    max_attempts=4, retry_seconds=60, retry_max_seconds=3600, lease_seconds=300, jitter=0.1
)


class Refused(Exception):
    """This link will not be fetched, whatever happens: the message says why."""


def link_of(event: RequestEvent) -> str:
    if event.kind == Event.SUBMITTED:
        return event.request.media_url
    return str((event.data or {}).get("media_url") or "")


def allowed_host(url: str) -> bool:
    parts = urlsplit(url)
    hosts = {h.lower() for h in settings.CITY311_MEDIA_FETCH_HOSTS}
    return parts.scheme in ("http", "https") and (parts.hostname or "").lower() in hosts


def handle_events(events: Sequence[RequestEvent]) -> int:
    """The media consumer: one fetch per linked photo on an allowed host."""
    rows = [
        PhotoFetch(request_id=event.request_id, event=event, url=link_of(event))
        for event in events
        if event.request.channel != Channel.IMPORT and allowed_host(link_of(event))
    ]
    PhotoFetch.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def download(url: str, client: outbound.Client) -> bytes:
    """The linked file's bytes, within the limits; Refused or a requests error otherwise."""
    if not allowed_host(url):
        raise Refused("the host is not one the city fetches photos from")
    limit = attachments.max_bytes()
    try:
        response = client.get(url, timeout=TIMEOUT, stream=True, allow_redirects=False)
    except outbound.Refused as e:
        raise Refused(str(e)) from None
    with response:
        if response.is_redirect:
            raise Refused("the link redirects elsewhere")
        if 400 <= response.status_code < 500:
            raise Refused(f"HTTP {response.status_code}")
        response.raise_for_status()
        if int(response.headers.get("content-length") or 0) > limit:
            raise Refused(f"the photo is larger than {limit:,} bytes")
        data = b""
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > limit:
                raise Refused(f"the photo is larger than {limit:,} bytes")
    return data


def fetch_due_photos(limit: int = 200) -> int:
    """Fetch the linked photos that are due; how many were kept."""
    kept = tried = 0
    outbox.release_dead(PhotoFetch.objects.all())
    with outbound.Client() as client:
        while tried < limit:
            batch = outbox.claim(PhotoFetch.objects.select_related("request"), CLAIM)
            if not batch:
                break
            tried += len(batch)
            kept += sum(fetch_one(fetch, client) for fetch in batch)
    return kept


def fetch_one(fetch: PhotoFetch, client: outbound.Client) -> int:
    try:
        photo = attachments.clean_photo(ContentFile(download(fetch.url, client), name="linked"))
    except Refused as e:
        outbox.give_up(fetch, str(e))
        return 0
    except attachments.MediaInvalid as e:
        outbox.give_up(fetch, str(e.message))
        return 0
    except requests.RequestException as e:
        outbox.retry_later(fetch, f"no answer: {type(e).__name__}", POLICY)
        return 0
    with attachments.unless_committed() as written, transaction.atomic():
        if not outbox.mark_sent(fetch, f"kept {len(photo.content):,} bytes"):
            return 0
        fetch.attachment = attachments.attach(fetch.request, photo, written=written)
        fetch.save(update_fields=["attachment"])
    return 1


def sweep() -> dict[str, int]:
    rows = PhotoFetch.objects.all()
    released = outbox.release_dead(rows) + outbox.release_stale(rows, POLICY)
    return {"released": released, "kept": fetch_due_photos()}
