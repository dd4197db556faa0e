from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from city311.cities import profile
from city311.cities.models import City


@cache_control(max_age=86400, public=True)
def logo(request: HttpRequest) -> HttpResponse:
    """The city's logo from its pack (the page links it with a version, so it may be cached)."""
    city = City.objects.filter(pk=1).only("logo", "logo_name").first()
    if city is None or not city.logo:
        raise Http404(_("This city has no logo."))
    svg = city.logo_name.lower().endswith(".svg")
    response = HttpResponse(bytes(city.logo), content_type="image/svg+xml" if svg else "image/png")
    if svg:
        # An SVG may carry script: shown as an image only, never run.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@cache_control(max_age=86400, public=True)
def brand_css(request: HttpRequest) -> HttpResponse:
    """The city's colours over the pages' own (a stylesheet, so no inline style is needed)."""
    city = profile.current()
    rules = []
    if city.primary_hex:
        rules += [
            f".portal-header, header.top {{ background: {city.primary_hex}; }}",
            f".portal-brand span {{ color: {city.primary_hex}; }}",
            ".usa-button:not(.usa-button--unstyled):not(.usa-button--outline)"
            f" {{ background-color: {city.primary_hex}; }}",
        ]
    if city.secondary_hex:
        rules.append(f".portal-footer {{ border-top: 0.25rem solid {city.secondary_hex}; }}")
    return HttpResponse("\n".join(rules) + "\n", content_type="text/css")
