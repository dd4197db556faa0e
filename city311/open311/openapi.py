"""The API described: discovery for Open311 clients, an OpenAPI document for developers.

The OpenAPI document is what the tests fuzz the server against, so it must say what the server
really does.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import LogEntry

from city311.cities import profile
from city311.open311.render import SPECIFICATION
from city311.servicerequests.attachments import ALLOWED_TYPES, MAX_PIXELS, max_bytes
from city311.servicerequests.validation import MAX_DESCRIPTION

# When nothing in the catalog was ever changed through the admin.
FIRST_CHANGESET = "2026-11-22T00:00:00Z"


def changeset() -> str:
    """When the catalog last changed in the admin: a bump tells clients to reload services."""
    last = (
        LogEntry.objects.filter(content_type__app_label="catalog")
        .order_by("-action_time")
        .values_list("action_time", flat=True)
        .first()
    )
    return last.strftime("%Y-%m-%dT%H:%M:%SZ") if last else FIRST_CHANGESET


def key_service() -> str:
    return (
        "Reading needs no key. To post requests, ask the city's 311 team for an API key for your "
        "application (administrators issue one in the admin under API keys, or with "
        "`city311 create_api_key APP_NAME`), and send it as api_key."
    )


def _city_name() -> str:
    """The city's name; "city311" where the document is built with no database to read
    (the fuzz tests build it as they are collected)."""
    try:
        return profile.current().name
    except Exception:
        return "city311"


def discovery(base_url: str) -> dict[str, Any]:
    stamp = changeset()
    return {
        "changeset": stamp,
        "contact": f"{profile.current().brand_name}: call {profile.current().phone}.",
        "key_service": key_service(),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": stamp,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **more}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


STRING = {"type": "string"}
DATETIME = _nullable("string", format="date-time")
SCHEMAS: dict[str, Any] = {
    "Error": _object({"code": {"type": "integer"}, "description": STRING}),
    "Errors": _list("Error"),
    "Discovery": _object(
        {
            "changeset": STRING,
            "contact": STRING,
            "key_service": STRING,
            "endpoints": {
                "type": "array",
                "items": _object(
                    {
                        "specification": STRING,
                        "url": STRING,
                        "changeset": STRING,
                        "type": {"type": "string", "enum": ["production", "test"]},
                        "formats": {"type": "array", "items": STRING},
                    }
                ),
            },
        }
    ),
    "Service": _object(
        {
            "service_code": STRING,
            "service_name": STRING,
            "description": _nullable("string"),
            "metadata": {"type": "boolean"},
            "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
            "keywords": _nullable("string"),
            "group": STRING,
        }
    ),
    "Value": _object({"key": STRING, "name": STRING}),
    "Attribute": _object(
        {
            "variable": {"type": "boolean"},
            "code": STRING,
            "datatype": {
                "type": "string",
                "enum": [
                    "string",
                    "number",
                    "datetime",
                    "text",
                    "singlevaluelist",
                    "multivaluelist",
                ],
            },
            "required": {"type": "boolean"},
            "datatype_description": _nullable("string"),
            "order": {"type": "integer", "minimum": 0},
            "description": STRING,
            "values": _list("Value"),
        }
    ),
    "ServiceDefinition": _object({"service_code": STRING, "attributes": _list("Attribute")}),
    "Area": _object({"kind": STRING, "code": STRING, "name": STRING}),
    "Note": _object(
        {
            "datetime": DATETIME,
            "type": STRING,
            "summary": STRING,
            "description": _nullable("string"),
        }
    ),
    "ExtendedAttributes": _object(
        {
            "channel": STRING,
            "application": _nullable("string"),
            "department": _nullable("string"),
            "areas": _list("Area"),
            "duplicate": {"type": "boolean"},
            "parent_service_request_id": _nullable("string"),
            "possible_duplicate_of": _nullable("string"),
            "location_precision": {
                **_nullable("string"),
                "description": "How the place was found: address (an exact address point), "
                "place, intersection, interpolated, street (only the street is known) or pin "
                "(a map pin or a phone's position).",
            },
            "location_to_verify": {
                "type": "boolean",
                "description": "The place could not be found within about 50 m: staff verify "
                "it before it is routed or mapped as exact.",
            },
            "media": {"type": "array", "items": STRING},
            "notes": _list("Note"),
            "expected_close": _nullable("string"),
            "expected_close_within_hours": _nullable("number"),
            "expected_close_typical_hours": _nullable("number"),
        }
    ),
    "Request": _object(
        {
            "service_request_id": STRING,
            "status": {"type": "string", "enum": ["open", "closed"]},
            "status_notes": _nullable("string"),
            "service_name": STRING,
            "service_code": STRING,
            "description": _nullable(
                "string",
                description="What the resident wrote, with phone numbers and e-mail addresses "
                "replaced by [phone removed] and [e-mail removed]; null for the service types "
                "whose descriptions the city does not publish. Notes are published the same way.",
            ),
            "agency_responsible": _nullable("string"),
            "service_notice": _nullable("string"),
            "requested_datetime": DATETIME,
            "updated_datetime": DATETIME,
            "expected_datetime": DATETIME,
            "address": STRING,
            "address_id": _nullable("string"),
            "zipcode": _nullable("string"),
            "lat": _nullable("number"),
            "long": _nullable("number"),
            "media_url": _nullable("string"),
            "extended_attributes": _ref("ExtendedAttributes"),
        },
        optional=("extended_attributes",),
    ),
    "Created": _object(
        {
            "service_request_id": STRING,
            "service_notice": _nullable("string"),
            "account_id": _nullable("string"),
        }
    ),
    "Token": _object({"service_request_id": STRING, "token": STRING}),
    "Update": _object(
        {
            "update_id": STRING,
            "service_request_id": STRING,
            "status": {"type": "string", "enum": ["open", "closed"]},
            "updated_datetime": DATETIME,
            "description": _nullable("string"),
            "media_url": _nullable("string"),
        }
    ),
}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": "^[^/.]+$"},
    }


FORMAT = {
    "name": "format",
    "in": "path",
    "required": True,
    "description": "xml or json",
    "schema": {"type": "string", "enum": ["json", "xml"]},
}
JURISDICTION = _query(
    "jurisdiction_id",
    "Optional: this server serves one city. A value other than its id or host name is 404.",
)
PAGING = [
    _query("page", "Extension: the page, from 1.", type="integer", minimum=1, maximum=100000),
    _query(
        "page_size",
        "Extension: results a page, at most and by default 1000.",
        type="integer",
        minimum=1,
        maximum=1000,
    ),
]
ERROR_TEXT = {
    400: "The request cannot be met: a missing or invalid parameter, named in the description.",
    403: "api_key is missing, unknown or revoked.",
    404: "No such service, request, token or jurisdiction.",
    429: "This key posted too many requests this minute; Retry-After says when to try again.",
}


def _responses(schema: dict[str, Any], *codes: int) -> dict[str, Any]:
    def content(s: dict[str, Any]) -> dict[str, Any]:
        return {
            "application/json": {"schema": s},
            "text/xml": {"schema": {"type": "string"}},
        }

    out: dict[str, Any] = {"200": {"description": "OK", "content": content(schema)}}
    for code in codes:
        out[str(code)] = {"description": ERROR_TEXT[code], "content": content(_ref("Errors"))}
    return out


def _get(summary: str, description: str, schema: Any, parameters: list[Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "description": description,
            "parameters": [*parameters, FORMAT, JURISDICTION],
            "responses": _responses(schema, 400, 404),
        }
    }


def _post_request() -> dict[str, Any]:
    fields: dict[str, Any] = {
        "api_key": {"type": "string", "description": "Required: the key the city issued."},
        "service_code": {"type": "string", "description": "Required: from services."},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string", "maxLength": 255},
        "address_id": {"type": "string"},
        "zipcode": {"type": "string", "maxLength": 10},
        "email": {"type": "string", "description": "Kept private; never shown by the API."},
        "first_name": {"type": "string", "maxLength": 100},
        "last_name": {"type": "string", "maxLength": 100},
        "phone": {"type": "string"},
        "device_id": {"type": "string", "description": "Accepted and not kept."},
        "account_id": {"type": "string", "description": "Accepted and not kept."},
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
        "media_url": {"type": "string", "format": "uri"},
        "jurisdiction_id": {"type": "string"},
    }
    multipart = dict(fields)
    multipart["media"] = {
        "type": "string",
        "format": "binary",
        "description": (
            f"A photo: {', '.join(ALLOWED_TYPES)}, at most {max_bytes():,} bytes and "
            f"{MAX_PIXELS // 1_000_000} megapixels. It is decoded and re-encoded: a file that "
            "cannot be decoded is refused (400), and what is kept has no EXIF (no GPS "
            "position, no camera), turned upright."
        ),
    }
    return {
        "summary": "Create a service request",
        "description": (
            "Needs an API key. One location: lat and long, address_string (geocoded) or "
            "address_id. Answers as attribute[CODE]=value; several values of a multivaluelist "
            "as attribute[CODE][]=a&attribute[CODE][]=b or repeated attribute[CODE]. "
            "Parameters may come in the query string or the body; empty ones count as absent. "
            "The service_request_id returned is the request's tracking number."
        ),
        "parameters": [FORMAT],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": fields}
                },
                "multipart/form-data": {"schema": {"type": "object", "properties": multipart}},
            },
        },
        "responses": _responses(_list("Created"), 400, 403, 404, 429),
    }


def _post_update() -> dict[str, Any]:
    fields: dict[str, Any] = {
        "api_key": {"type": "string", "description": "Required: the key the city issued."},
        "service_request_id": {"type": "string", "description": "Required: the tracking number."},
        "update_id": {
            "type": "string",
            "maxLength": 100,
            "description": "Required: the application's own id of the update. Posting the same "
            "id again records nothing and answers with the first update's id.",
        },
        "status": {
            "type": "string",
            "description": "Required. FIXED or CLOSED: the resident says it is fixed (recorded "
            "for staff to close). OPEN or REOPEN on a closed request within its reopen window: "
            "not fixed, the request reopens. Any other FixMyStreet state: a comment.",
        },
        "description": {"type": "string", "maxLength": 4000},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "media_url": {
            "type": "string",
            "format": "uri",
            "description": "A photo's address: kept as a link in the update, never fetched.",
        },
        "email": {"type": "string", "description": "Accepted and not kept."},
        "first_name": {"type": "string", "description": "Accepted and not kept."},
        "last_name": {"type": "string", "description": "Accepted and not kept."},
    }
    answer = {
        "type": "array",
        "items": {"type": "object", "properties": {"update_id": {"type": "string"}}},
    }
    return {
        "summary": "Post an update on a request",
        "description": (
            "Extension (FixMyStreet's send_comments): a resident's update through an "
            "application becomes public history on the request. The update_id answered is "
            "city311's own; the feed leaves out the application's own updates when it reads "
            "with its api_key."
        ),
        "parameters": [FORMAT],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": fields}
                },
            },
        },
        "responses": _responses(answer, 400, 403, 404, 429),
    }


def document(base_url: str) -> dict[str, Any]:
    root = base_url.split("/open311/", 1)[0]
    requests_get = _get(
        "Find service requests",
        "Without dates, the most recent 90 days; at most 1000 results. service_request_id "
        "overrides every other filter.",
        _list("Request"),
        [
            _query(
                "service_request_id", "Comma-separated tracking numbers, with or without dashes."
            ),
            _query("service_code", "Comma-separated service codes."),
            _query(
                "start_date",
                "Earliest requested_datetime (W3C).",
                type="string",
                format="date-time",
            ),
            _query(
                "end_date",
                "Latest requested_datetime (W3C); at most 90 days after start_date.",
                type="string",
                format="date-time",
            ),
            _query(
                "status",
                "open, closed, or both comma-separated.",
                type="string",
                enum=["open", "closed", "open,closed"],
            ),
            _query(
                "updated_after",
                "Extension: updated_datetime after this (W3C).",
                type="string",
                format="date-time",
            ),
            _query(
                "updated_before",
                "Extension: updated_datetime before this (W3C).",
                type="string",
                format="date-time",
            ),
            _query("extensions", "Extension: true adds extended_attributes.", type="boolean"),
            *PAGING,
        ],
    )
    requests_get["post"] = _post_request()
    updates = _get(
        "Service request updates",
        "Extension (FixMyStreet): public updates, oldest first, without the city's internal "
        "routing; without dates, the most recent 90 days. Complete for a client that never "
        "pages: when no page is sent and the window is at most 7 days, every update in it is "
        "returned, however many; with page (or a longer window), pages of page_size (at "
        "most 1000).",
        _list("Update"),
        [
            _query("start_date", "Earliest update (W3C).", type="string", format="date-time"),
            _query("end_date", "Latest update (W3C).", type="string", format="date-time"),
            _query(
                "api_key",
                "Optional. With a key whose status words are FixMyStreet's, status is IN_PROGRESS, "
                "FIXED, DUPLICATE, NO_FURTHER_ACTION, NOT_COUNCILS_RESPONSIBILITY, CLOSED or "
                "OPEN instead of open/closed; the key's own posted updates are left out.",
            ),
            *PAGING,
        ],
    )
    updates["post"] = _post_update()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{_city_name()}: Open311 GeoReport v2",
            "version": "2",
            "description": (
                "Open311 GeoReport v2 (" + SPECIFICATION + ") with its common extensions. Every "
                "resource in XML (text/xml) and JSON; errors are a list of {code, description}. "
                f"Endpoint: {base_url} (with the trailing slash). " + key_service()
            ),
        },
        "servers": [{"url": root}],
        "paths": {
            "/open311/discovery.{format}": _get(
                "Discovery", "Endpoints and formats.", _ref("Discovery"), []
            ),
            "/open311/v2/discovery.{format}": _get(
                "Discovery", "The same, under the endpoint.", _ref("Discovery"), []
            ),
            "/open311/v2/services.{format}": _get(
                "List services", "Every service a request may be posted for.", _list("Service"), []
            ),
            "/open311/v2/services/{service_code}.{format}": _get(
                "Service definition",
                "The service's questions (attributes), in order.",
                _ref("ServiceDefinition"),
                [_path("service_code", "A service_code from services.")],
            ),
            "/open311/v2/requests.{format}": requests_get,
            "/open311/v2/requests/{service_request_id}.{format}": _get(
                "One service request",
                "A one-element list, like the list; the id with or without dashes.",
                _list("Request"),
                [
                    _path("service_request_id", "The tracking number, e.g. 637-0292-351."),
                    _query(
                        "extensions", "Extension: true adds extended_attributes.", type="boolean"
                    ),
                ],
            ),
            "/open311/v2/tokens/{token}.{format}": _get(
                "Request id from a token",
                "Every service is realtime, so no tokens are issued; a tracking number resolves "
                "to itself for clients that poll anyway.",
                _list("Token"),
                [_path("token", "A token (here: a tracking number).")],
            ),
            "/open311/v2/servicerequestupdates.{format}": updates,
        },
        "components": {"schemas": SCHEMAS},
    }


def operations(base_url: str) -> list[dict[str, Any]]:
    """The document's operations, flattened for the HTML docs page."""
    doc = document(base_url)
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            first: dict[str, Any] = next(iter(body.values()), {})
            fields = first.get("schema", {}).get("properties", {})
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": op["description"],
                    "parameters": op.get("parameters", []),
                    "fields": [{"name": k, **v} for k, v in fields.items()],
                    "responses": [
                        {"status": code, "description": r["description"]}
                        for code, r in op["responses"].items()
                    ],
                }
            )
    return out
