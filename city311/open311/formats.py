"""JSON and XML in GeoReport v2's shapes: the XML document, and JSON as its Spark mapping.

In XML every list is a wrapper element holding one element per item (`<services><service>`);
in JSON the same list is an array and the root element is dropped. Empty values are empty
elements in XML and null in JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import escape

from django.http import HttpResponse

JSON = "json"
XML = "xml"
CONTENT_TYPES = {
    JSON: "application/json; charset=utf-8",
    XML: "text/xml; charset=utf-8",
}
# The element name of one item of each list.
ITEMS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "notes": "note",
    "areas": "area",
    "media": "media_url",
}
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(_NOT_XML.sub("", str(value)))


def _element(out: list[str], name: str, value: Any) -> None:
    if isinstance(value, list):
        item = ITEMS.get(name, "item")
        out.append(f"<{name}>")
        for v in value:
            _element(out, item, v)
        out.append(f"</{name}>")
    elif isinstance(value, dict):
        out.append(f"<{name}>")
        for k, v in value.items():
            _element(out, k, v)
        out.append(f"</{name}>")
    elif value is None:
        out.append(f"<{name}></{name}>")
    else:
        out.append(f"<{name}>{_text(value)}</{name}>")


def to_xml(root: str, value: Any) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _element(out, root, value)
    return "".join(out).encode("utf-8")


def to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def respond(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """`value` as a response in `fmt`; `root` names the XML root element (JSON drops it)."""
    body = to_xml(root, value) if fmt == XML else to_json(value)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
