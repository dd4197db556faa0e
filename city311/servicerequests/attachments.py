"""Photos sent with a request: checked by their content, stored under a fresh name."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import Attachment, ServiceRequest

# What a photo may be, told by its first bytes rather than by what the client claims.
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]
ALLOWED_TYPES = sorted({t for _, t, _ in _SIGNATURES} | {"image/webp"})


def max_bytes() -> int:
    return int(getattr(settings, "CITY311_MEDIA_MAX_BYTES", 5 * 1024 * 1024))


class MediaInvalid(RequestError):
    """An upload is not a photo city311 takes, or is too large; the message says which."""


def _sniff(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_upload(upload: UploadedFile) -> tuple[str, str]:
    """The upload's real content type and file extension; MediaInvalid when it cannot be kept."""
    limit = max_bytes()
    if (upload.size or 0) > limit:
        raise MediaInvalid(
            f"The photo is {upload.size:,} bytes; send one of at most {limit:,} bytes "
            f"({limit // (1024 * 1024)} MB)."
        )
    if not upload.size:
        raise MediaInvalid("The photo is empty: send the image file itself.")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    sniffed = _sniff(head)
    if sniffed is None:
        raise MediaInvalid(
            "The file is not a photo city311 takes: send a JPEG, PNG, GIF or WebP image."
        )
    return sniffed


def attach(sr: ServiceRequest, upload: UploadedFile) -> Attachment:
    """Store a checked upload with the request. Call inside the transaction that created it."""
    content_type, extension = check_upload(upload)
    attachment = Attachment(request=sr, content_type=content_type, size=upload.size or 0)
    attachment.file.save(f"{secrets.token_hex(12)}.{extension}", upload, save=False)
    attachment.save()
    return attachment
