from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe

from city311.accounts.decorators import staff_required
from city311.ops import loading as loads


def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and `city311 up`'s checks: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


FAVICON = Path(settings.BASE_DIR) / "static" / "ops" / "favicon.ico"


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> FileResponse:
    """Browsers ask every site for /favicon.ico, whatever the page links to."""
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")


@staff_required()
@require_safe
@never_cache
def loading(request: HttpRequest) -> HttpResponse:
    """What the site still loads in the background (the demo's history): how far it has
    come and when it will be done. While something loads, the page's script reads it again
    every 10 s (static/ops/loading.js)."""
    shown = loads.status()
    busy = any(load.state == "loading" for load in shown)
    return render(request, "ops/loading.html", {"loads": shown, "busy": busy})
