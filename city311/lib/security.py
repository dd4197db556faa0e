"""The headers that tell a browser what a city311 page may do: Content-Security-Policy and
Permissions-Policy.

Every script and stylesheet city311 serves is a file of its own on this site (no inline code,
no `style` attributes, no event-handler attributes), so the policy allows scripts and styles
from this origin only: an injected `<script>` or `onerror=` would not run even if one ever got
past the templates' escaping. Images may also come from the city's map tile server.

The headers are set by two small, well-kept libraries: django-csp (Mozilla's; per-view
changes and report-only mode when a city needs them) and django-permissions-policy.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from csp.constants import NONE, SELF

from city311.lib.env import ConfigError


def tile_origin(template: str) -> str:
    """Where a Leaflet tile URL template's images come from, as a CSP source.

    `https://{s}.tile.example.org/{z}/{x}/{y}.png` → `https://*.tile.example.org`: Leaflet puts
    a subdomain (a, b, c) in place of `{s}`. An empty template (the blank map) gives "".
    """
    if not template:
        return ""
    parts = urlsplit(template.replace("{s}", "s"))
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or "{" in parts.netloc:
        raise ConfigError(
            f"CITY311_MAP_TILES={template!r} is not a tile URL: use one like "
            "https://tile.example.org/{z}/{x}/{y}.png ({s} may stand for a subdomain), "
            "or leave it empty for the blank map."
        )
    netloc = parts.netloc.replace("s.", "*.", 1) if "{s}." in template else parts.netloc
    return f"{parts.scheme}://{netloc}"


def content_security_policy(map_tiles: str) -> dict[str, Any]:
    """django-csp's CONTENT_SECURITY_POLICY for a city whose map tiles come from `map_tiles`."""
    images = [SELF, "data:"]
    if origin := tile_origin(map_tiles):
        images.append(origin)
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF],
            "style-src": [SELF],
            "img-src": images,
            "connect-src": [SELF],
            "font-src": [SELF],
            "manifest-src": [SELF],
            "worker-src": [SELF],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
        }
    }


# Only the report page's "use my location" needs a powerful feature; nothing else, and no
# embedded frame, may ask for any. (Names Chromium knows: it logs an error for any other.)
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "geolocation": ["self"],
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "encrypted-media": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "usb": [],
    "serial": [],
    "hid": [],
    "browsing-topics": [],
}
