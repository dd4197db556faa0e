from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import FileResponse, HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


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
