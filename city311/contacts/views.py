"""Public answers of the call centre (no sign-in, nothing about any caller)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.views.decorators.http import require_GET

from city311.contacts import hours


@require_GET
def hours_now(request: HttpRequest) -> JsonResponse:
    """`GET /contacts/hours.json[?lang=es]`: whether a person answers now, when people are
    back and what works meanwhile (hours.AvailabilityPayload), for apps and other sites."""
    language = request.GET.get("lang", "en")
    offered = [code for code, _name in settings.LANGUAGES]
    if language not in offered:
        return JsonResponse(
            {"error": f"lang must be one of {', '.join(offered)}; it was {language[:20]!r}."},
            status=400,
        )
    with translation.override(language):
        answer = hours.availability().payload()
    response = JsonResponse(answer)
    # The answer changes at opening and closing time: a minute's caching is right for apps.
    response["Cache-Control"] = "public, max-age=60"
    return response
