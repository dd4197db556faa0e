"""Photos applications link to: fetched from the hosts the city allows, kept like uploads.

FixMyStreet sends a report's or an update's photo as `media_url`, a link. The "media"
consumer of the event stream reads filed requests and notes; for each link whose host is in
CITY311_MEDIA_FETCH_HOSTS it writes a `PhotoFetch` outbox row. `fetch_due_photos` (its `then`,
and the sweep) fetches each through the outbox's one send loop (`PhotoFetcher`): only over
http(s), only from an allowed host, through the outbound guard (lib/outbound.py: every address
of the host a public one, connected to as checked, so a link cannot make the server read the
city's own network), without following redirects, at most CITY311_MEDIA_MAX_BYTES, and then
through `attachments.clean_photo` like every upload (its type told by its bytes, EXIF and other
metadata gone). A photo that will never do (too large, not
a photo, refused) is a dead letter at once; a host that does not answer is tried again later.
Links from other hosts stay links: staff see them on the work page and open them themselves.

A photo texted to the city (MMS) comes the same way (`fetch_texted_photo`, called by
city311.intake.texting as it files): Twilio's media link, from CITY311_MMS_MEDIA_HOSTS, with
the account's credentials (Twilio asks for them) on the first request only, and up to
MAX_REDIRECTS redirects followed, each checked like the link itself (Twilio answers with a
redirect to a short-lived link on its CDN). When it will never be fetched, an internal note
on the request says so with the link, so staff know a photo came and where it is.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Hashable, Sequence
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django_q.tasks import async_task

from city311.lib import outbound, outbox
from city311.open311.models import PhotoFetch, PhotoSource
from city311.servicerequests import actions, attachments
from city311.servicerequests.models import Channel, RequestEvent, ServiceRequest
from city311.servicerequests.vocabulary import Event

log = logging.getLogger(__name__)

CLAIM = 10
TIMEOUT = (5, 20)
# Twilio's media link redirects once, to its CDN; a chain longer than this is refused.
MAX_REDIRECTS = 3
POLICY = outbox.Policy(
    max_attempts=4, retry_seconds=60, retry_max_seconds=3600, lease_seconds=300, jitter=0.1
)


class Refused(Exception):
    """This link will not be fetched, whatever happens: the message says why."""


def link_of(event: RequestEvent) -> str:
    if event.kind == Event.SUBMITTED:
        return event.request.media_url
    return str((event.data or {}).get("media_url") or "")


def allowed_host(url: str, source: str = PhotoSource.LINK) -> bool:
    parts = urlsplit(url)
    allowed = (
        settings.CITY311_MMS_MEDIA_HOSTS
        if source == PhotoSource.MMS
        else settings.CITY311_MEDIA_FETCH_HOSTS
    )
    hosts = {h.lower() for h in allowed}
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


def download(url: str, client: outbound.Client, source: str = PhotoSource.LINK) -> bytes:
    """The linked file's bytes, within the limits; Refused or a requests error otherwise.

    An application's link is fetched as it is: a redirect is refused. A texted photo's
    redirects are followed (at most MAX_REDIRECTS), each hop checked like the first.
    """
    hops = MAX_REDIRECTS + 1 if source == PhotoSource.MMS else 1
    auth = twilio_credentials(url) if source == PhotoSource.MMS else None
    for _hop in range(hops):
        if not allowed_host(url, source):
            raise Refused("the host is not one the city fetches photos from")
        try:
            response = client.get(
                url, timeout=TIMEOUT, stream=True, allow_redirects=False, auth=auth
            )
        except outbound.Refused as e:
            raise Refused(str(e)) from None
        with response:
            if not response.is_redirect:
                return _body(response)
            location = response.headers.get("location", "")
        # The credentials are Twilio's API's: never sent on to where it redirects.
        url, auth = urljoin(url, location), None
    raise Refused("the link redirects elsewhere")


def _body(response: requests.Response) -> bytes:
    limit = attachments.max_bytes()
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


def twilio_credentials(url: str) -> tuple[str, str] | None:
    """The account's SID and auth token, for a media link of this account only, and only
    over https (or to this machine itself, where they never reach a network)."""
    sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
    parts = urlsplit(url)
    ours = parts.path.startswith(f"/2010-04-01/Accounts/{sid}/Messages/")
    if not (sid and token and ours):
        return None
    if parts.scheme == "https" or _is_loopback(parts.hostname or ""):
        return sid, token
    return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_texted_photo(sr: ServiceRequest, url: str) -> PhotoFetch:
    """Fetch a photo texted with `sr` (Twilio's MediaUrl) in the background, kept like an
    upload. Call in the transaction that filed it: the fetch starts once the stream hands
    its submission to the media consumer (or at the sweep)."""
    event = sr.events.filter(kind=Event.SUBMITTED).order_by("pk").first()
    assert event is not None, "a filed request has its submission event"
    fetch, _created = PhotoFetch.objects.get_or_create(
        event=event, url=url[:500], defaults={"request": sr, "source": PhotoSource.MMS}
    )
    return fetch


def fetch_due_photos(limit: int = 200) -> int:
    """Fetch the linked photos that are due; how many were kept. A backlog too long for one
    task is left to a new task queued behind the others."""
    with outbound.Client() as client:
        kept, more = PhotoFetcher(client).send_due(limit)
    if more:
        async_task("city311.open311.media.fetch_due_photos")
    return kept


class PhotoFetcher(outbox.Sender[PhotoFetch]):
    """Fetches through the outbox's one send loop (city311.lib.outbox.Sender): a photo that
    will never do is a dead letter at once, a host that does not answer is tried again on
    POLICY's schedule; a texted photo in the dead letter gets its note to staff."""

    model = PhotoFetch
    noun = "Photo fetch"
    claim_size = CLAIM

    def __init__(self, client: outbound.Client) -> None:
        self.client = client
        # Each fetched photo, cleaned, from `attempt` until `sent` attaches it.
        self.photos: dict[int, attachments.CleanPhoto] = {}

    def due(self, down: set[Hashable]) -> QuerySet[PhotoFetch]:
        return PhotoFetch.objects.select_related("request")

    def destination(self, fetch: PhotoFetch) -> str:
        return (urlsplit(fetch.url).hostname or "").lower()

    def policy(self) -> outbox.Policy:
        return POLICY

    def attempt(self, fetch: PhotoFetch) -> str:
        try:
            data = download(fetch.url, self.client, fetch.source)
            photo = attachments.clean_photo(ContentFile(data, name="linked"))
        except Refused as e:
            raise outbox.GiveUp(str(e)) from None
        except attachments.MediaInvalid as e:
            raise outbox.GiveUp(str(e.message)) from None
        except (requests.RequestException, ConnectionError) as e:
            raise outbox.TryLater(f"no answer: {type(e).__name__}") from None
        self.photos[fetch.pk] = photo
        return f"kept {len(photo.content):,} bytes"

    def sent(self, fetch: PhotoFetch, detail: str) -> bool:
        photo = self.photos.pop(fetch.pk)
        with attachments.unless_committed() as written, transaction.atomic():
            if not outbox.mark_sent(fetch, detail):
                return False
            fetch.attachment = attachments.attach(fetch.request, photo, written=written)
            fetch.save(update_fields=["attachment"])
        return True

    def dead(self, fetch: PhotoFetch, error: str) -> None:
        # A host that never answered: the note says how often it was tried.
        last = fetch.attempts >= POLICY.max_attempts and error.startswith("no answer")
        _tell_staff(fetch, f"no answer after {fetch.attempts} tries" if last else error)


def _tell_staff(fetch: PhotoFetch, error: str) -> None:
    """A texted photo that will not be fetched: an internal note says so, with its link (an
    application's link is already listed on the work page)."""
    if fetch.source != PhotoSource.MMS:
        return
    note = (
        f"The photo sent by text with this report could not be fetched ({error}). "
        f"Its link is kept: {fetch.url}"
    )
    with transaction.atomic():
        actions.add_note(fetch.request, text=note[: actions.MAX_NOTE], public=False, by=None)
        event = fetch.request.events.order_by("-id").first()
        if event is not None:
            event.actor_label = "city311"
            event.save(update_fields=["actor_label"])


def sweep() -> dict[str, int]:
    rows = PhotoFetch.objects.all()
    released = outbox.release_dead(rows) + outbox.release_stale(rows, POLICY)
    return {"released": released, "kept": fetch_due_photos()}
