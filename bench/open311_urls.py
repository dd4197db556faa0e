"""city311's URLs plus the framework's ceilings: /bench/bare-insert writes one row and nothing else,
/bench/bare-get/<id> reads one stored request by its public id and answers it as JSON."""

import json

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_open311_row"


@csrf_exempt
def bare_insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (at) VALUES (%s)", [timezone.now()])
    return HttpResponse("ok", content_type="text/plain")


def bare_get(request: HttpRequest, tracking_number: str) -> HttpResponse:
    # One indexed row by the same public id Open311 serves, its columns as they are.
    from city311.servicerequests.models import ServiceRequest

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {ServiceRequest._meta.db_table} WHERE tracking_number = %s",
            [tracking_number],
        )
        row = cursor.fetchone()
        if row is None:
            raise Http404(tracking_number)
        names = [c.name for c in cursor.description]
    return HttpResponse(
        json.dumps([dict(zip(names, row, strict=True))], default=str),
        content_type="application/json",
    )


urlpatterns = [
    path("bench/bare-insert", bare_insert),
    path("bench/bare-get/<str:tracking_number>", bare_get),
    path("", include("city311.urls")),
]
