"""Photos sent with a request: checked by their content, stored under a fresh name."""

from __future__ import annotations

import io
import logging
import secrets
import struct
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import Attachment, ServiceRequest

logger = logging.getLogger(__name__)

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
            _("The photo is %(size)s bytes; send one of at most %(limit)s bytes (%(mb)s MB)."),
            code="too_large",
            size=f"{upload.size:,}",
            limit=f"{limit:,}",
            mb=max(1, limit // (1024 * 1024)),
        )
    if not upload.size:
        raise MediaInvalid(_("The photo is empty: send the image file itself."), code="empty")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    sniffed = _sniff(head)
    if sniffed is None:
        raise MediaInvalid(
            _("The file is not a photo city311 takes: send a JPEG, PNG, GIF or WebP image."),
            code="not_a_photo",
        )
    return sniffed


# Pillow's names for the formats we take, and the format a photo is re-encoded in.
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# A photo larger than this many pixels is refused rather than decoded (a "decompression bomb"):
# decoding one takes about 4 bytes a pixel. 60 megapixels holds any phone's full-size photo.
MAX_PIXELS = 60_000_000


@dataclass(frozen=True)
class CleanPhoto:
    """A photo with its metadata gone: what is stored and shown."""

    content: bytes
    content_type: str
    extension: str


def _unreadable() -> MediaInvalid:
    return MediaInvalid(
        _(
            "The photo could not be read: it may be damaged, or not be the image it claims. "
            "Send a JPEG, PNG, GIF or WebP image."
        ),
        code="unreadable_photo",
    )


def _too_many_pixels() -> MediaInvalid:
    return MediaInvalid(
        _("The photo has more than %(megapixels)s megapixels: send a smaller picture."),
        code="too_many_pixels",
        megapixels=MAX_PIXELS // 1_000_000,
    )


def _whole_images_only() -> None:
    """Pillow's process-wide switch to fill a cut-off image with grey stays off: another library
    in the process (WeasyPrint, on import) turns it on, and a half-read photo would then pass."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False


def _decode(data: bytes, content_type: str) -> Image.Image:
    _whole_images_only()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Only the format its first bytes claim: a file is never read as another format.
            image = Image.open(io.BytesIO(data), formats=[_FORMATS[content_type]])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        if image.width * image.height > MAX_PIXELS:
            raise _too_many_pixels()
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


def clean_photo(upload: File) -> CleanPhoto:
    """The upload's pixels without EXIF (GPS, device, time) or other metadata, turned upright.

    Checks the upload first (check_upload). Only what Pillow decodes and re-encodes is kept:
    a file it cannot decode, or one of more than MAX_PIXELS, is refused (MediaInvalid), so
    nothing a client sent is ever stored or served as sent (no hidden GPS, no script or HTML
    riding behind an image header).
    """
    content_type, extension = check_upload(upload)
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        image = _decode(data, content_type)
        # The camera's orientation tag is applied to the pixels, since the tag itself goes.
        upright = ImageOps.exif_transpose(image) or image
        content = _encode(upright, content_type)
    except MediaInvalid:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        struct.error,
        Warning,
    ):
        # Pillow's decoders report a damaged file with any of these.
        raise _unreadable() from None
    return CleanPhoto(content, content_type, extension)


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


def clean_photos(uploads: Sequence[File]) -> list[CleanPhoto]:
    """Each upload cleaned (clean_photo); the first that cannot be kept raises MediaInvalid.

    Done before the transaction that stores them: decoding is slow, and holds no lock then.
    """
    return [clean_photo(upload) for upload in uploads]


def attach(sr: ServiceRequest, photo: CleanPhoto, *, written: list[str]) -> Attachment:
    """Store a cleaned photo with the request; its file's name is added to `written`.

    Call inside the transaction that stores the request's change, within `unless_committed`,
    so the file goes again if that transaction rolls back.
    """
    attachment = Attachment(request=sr, content_type=photo.content_type, size=len(photo.content))
    attachment.file.save(
        f"{secrets.token_hex(12)}.{photo.extension}", ContentFile(photo.content), save=False
    )
    written.append(attachment.file.name)
    attachment.save()
    return attachment


@contextmanager
def unless_committed() -> Iterator[list[str]]:
    """The names of files written in the block, removed again if the block fails.

    Files are written before the rows that name them commit (so a committed row always has
    its file); a transaction that rolls back inside the block leaves no file behind.
    """
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for name in written:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("Could not remove the photo file %s of a rolled-back change", name)
        raise


# How each format's file ends: anything after it rode in behind the image.
_ENDINGS = {"image/jpeg": b"\xff\xd9", "image/png": b"IEND\xaeB`\x82", "image/gif": b";"}


def _already_clean(data: bytes, content_type: str) -> bool:
    """Decodes, carries no metadata and ends where the image ends: as clean_photo writes it."""
    _whole_images_only()
    try:
        with Image.open(io.BytesIO(data), formats=[_FORMATS[content_type]]) as image:
            if image.width * image.height > MAX_PIXELS:
                return False
            image.load()
            if image.getexif() or {"exif", "icc_profile", "xmp", "comment"} & set(image.info):
                return False
    except Exception:
        return False
    if content_type == "image/webp":
        return int.from_bytes(data[4:8], "little") + 8 == len(data)
    return data.endswith(_ENDINGS[content_type])


def reclean(attachment: Attachment) -> str:
    """Bring a photo stored before every channel cleaned photos up to what clean_photo keeps.

    "clean" when it already is; "cleaned" when it was re-encoded (its metadata, and anything
    riding behind the image, gone); "removed" when it cannot be decoded (the file and the row
    go: nothing in it could be shown safely); "missing" when its file is gone.
    """
    try:
        with attachment.file.open("rb") as f:
            data = f.read()
    except FileNotFoundError:
        return "missing"
    sniffed = _sniff(data[:16])
    if sniffed is not None and _already_clean(data, sniffed[0]):
        return "clean"
    old_name = attachment.file.name
    try:
        photo = clean_photo(ContentFile(data, name="stored"))
    except MediaInvalid:
        attachment.delete()
        default_storage.delete(old_name)
        return "removed"
    with unless_committed() as written, transaction.atomic():
        attachment.file.save(
            f"{secrets.token_hex(12)}.{photo.extension}", ContentFile(photo.content), save=False
        )
        written.append(attachment.file.name)
        attachment.content_type = photo.content_type
        attachment.size = len(photo.content)
        attachment.save(update_fields=["file", "content_type", "size"])
    default_storage.delete(old_name)
    return "cleaned"
