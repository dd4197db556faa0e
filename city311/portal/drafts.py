"""A resident's unfinished report: answers kept in the session, photos in private files.

The draft is small (a few short strings and numbers): the session holds it between steps. Its
photos, already stripped of their metadata, wait under MEDIA_ROOT/drafts/ (never served) until
the request is filed or the files expire.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.files.base import ContentFile, File

from city311.servicerequests.attachments import CleanPhoto

SESSION_KEY = "portal_report"
FILED_KEY = "portal_filed"
MAX_PHOTOS = 3
# Drafts' photos older than this are deleted; an abandoned report leaves nothing behind.
PHOTO_MAX_AGE_S = 24 * 3600


def _photo_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "drafts"


class Draft:
    """One report in progress, for one service type."""

    def __init__(self, session: SessionBase, data: dict[str, Any]) -> None:
        self.session, self.data = session, data

    @property
    def service_code(self) -> str:
        return str(self.data["service_code"])

    @property
    def token(self) -> str:
        """One-time: the request is filed once for it, whatever the clicks and refreshes."""
        return str(self.data["token"])

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def set(self, **values: Any) -> None:
        self.data.update(values)
        self.save()

    def save(self) -> None:
        self.session[SESSION_KEY] = self.data
        self.session.modified = True

    @property
    def photos(self) -> list[dict[str, Any]]:
        return list(self.data.get("photos", []))

    def add_photo(self, photo: CleanPhoto) -> None:
        sweep()
        directory = _photo_dir()
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_hex(16)}.{photo.extension}"
        (directory / name).write_bytes(photo.content)
        entry = {"name": name, "content_type": photo.content_type, "size": len(photo.content)}
        self.set(photos=[*self.photos, entry])

    def remove_photo(self, index: int) -> None:
        photos = self.photos
        if 0 <= index < len(photos):
            _delete(photos.pop(index)["name"])
            self.set(photos=photos)

    def photo_file(self, index: int) -> File | None:
        photos = self.photos
        if not 0 <= index < len(photos):
            return None
        path = _photo_dir() / Path(photos[index]["name"]).name
        if not path.exists():
            return None
        return ContentFile(path.read_bytes(), name=path.name)

    def photo_files(self) -> list[File]:
        files = [self.photo_file(i) for i in range(len(self.photos))]
        return [f for f in files if f is not None]


def start(session: SessionBase, service_code: str) -> Draft:
    """The draft for this type: the one in progress, or a new one."""
    draft = current(session, service_code)
    if draft is not None:
        return draft
    discard(session)
    draft = Draft(session, {"service_code": service_code, "token": secrets.token_urlsafe(16)})
    draft.save()
    return draft


def current(session: SessionBase, service_code: str) -> Draft | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("service_code") != service_code:
        return None
    return Draft(session, data)


def discard(session: SessionBase, *, keep_files: bool = False) -> None:
    data = session.pop(SESSION_KEY, None)
    if isinstance(data, dict) and not keep_files:
        for photo in data.get("photos", []):
            _delete(photo["name"])


def delete_photos(draft: Draft) -> None:
    for photo in draft.photos:
        _delete(photo["name"])


def _delete(name: str) -> None:
    (_photo_dir() / Path(name).name).unlink(missing_ok=True)


def sweep(max_age_s: int = PHOTO_MAX_AGE_S) -> int:
    """Delete drafts' photos older than max_age_s; the number deleted."""
    directory = _photo_dir()
    if not directory.is_dir():
        return 0
    cutoff, deleted = time.time() - max_age_s, 0
    for path in directory.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                deleted += 1
        except FileNotFoundError:
            continue
    return deleted


def remember_filed(session: SessionBase, token: str, tracking_number: str, email: bool) -> None:
    """This browser filed the request: it may see the confirmation, and a resend finds it."""
    filed = dict(session.get(FILED_KEY, {}))
    filed[token] = tracking_number
    filed[tracking_number] = "email" if email else ""
    # Only the last few: the session stays small.
    session[FILED_KEY] = dict(list(filed.items())[-10:])


def filed_here(session: SessionBase, key: str) -> str | None:
    value = session.get(FILED_KEY, {}).get(key)
    return None if value is None else str(value)
