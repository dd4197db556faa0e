"""Photos sent with a request: checked by their content, stored under a fresh name."""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile, File
from PIL import Image, ImageOps, UnidentifiedImageError

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


def check_upload(upload: File) -> tuple[str, str]:
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


# Pillow's names for the formats we take, and the format a photo is re-encoded in.
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# A photo larger than this many pixels is refused rather than decoded (a "decompression bomb").
MAX_PIXELS = 60_000_000


@dataclass(frozen=True)
class CleanPhoto:
    """A photo with its metadata gone: what is stored and shown."""

    content: bytes
    content_type: str
    extension: str


def _decode(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise MediaInvalid("The photo has too many pixels: send a smaller picture.")
        image.load()
    return image


def _encode(image: Image.Image, content_type: str) -> bytes:
    fmt = _FORMATS[content_type]
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    options: dict[str, object] = {"quality": 88, "optimize": True} if fmt == "JPEG" else {}
    # No exif=, icc_profile= or pnginfo=: nothing but the pixels is written.
    image.save(out, format=fmt, **options)
    return out.getvalue()


def clean_photo(upload: File, *, strict: bool = True) -> CleanPhoto:
    """The upload's pixels without EXIF (GPS, device, time) or other metadata, turned upright.

    Checks the upload first (check_upload). A file whose header says photo but that Pillow
    cannot decode is refused when `strict`; otherwise it is kept as sent (it shows nothing a
    browser could display, and older API clients send such files).
    """
    content_type, extension = check_upload(upload)
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        image = _decode(data)
    except MediaInvalid:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
        Warning,
    ):
        if strict:
            raise MediaInvalid(
                "The photo could not be read: it may be damaged. Send a JPEG, PNG, GIF or "
                "WebP image."
            ) from None
        return CleanPhoto(data, content_type, extension)
    # The camera's orientation tag is applied to the pixels, since the tag itself goes.
    upright = ImageOps.exif_transpose(image) or image
    return CleanPhoto(_encode(upright, content_type), content_type, extension)


def _ratio(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


def photo_location(upload: File) -> tuple[float, float] | None:
    """Where the photo was taken, from its EXIF GPS tags: (lat, long), or None."""
    upload.seek(0)
    try:
        with Image.open(io.BytesIO(upload.read())) as image:
            gps = image.getexif().get_ifd(0x8825)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    finally:
        upload.seek(0)
    try:
        lat = sum(_ratio(v) / 60**i for i, v in enumerate(gps[2]))
        long = sum(_ratio(v) / 60**i for i, v in enumerate(gps[4]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        long = -long
    if not (-90 <= lat <= 90 and -180 <= long <= 180) or (lat == 0 and long == 0):
        return None
    return lat, long


def attach(sr: ServiceRequest, upload: File, *, strict: bool = False) -> Attachment:
    """Store a checked upload with the request, its metadata stripped (clean_photo).

    Call inside the transaction that created the request.
    """
    photo = clean_photo(upload, strict=strict)
    attachment = Attachment(request=sr, content_type=photo.content_type, size=len(photo.content))
    attachment.file.save(
        f"{secrets.token_hex(12)}.{photo.extension}", ContentFile(photo.content), save=False
    )
    attachment.save()
    return attachment
