"""city311's URLs plus /bench/bare-insert: the framework's ceiling, one row and nothing else."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_open311_row"


@csrf_exempt
def bare_insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (at) VALUES (%s)", [timezone.now()])
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare-insert", bare_insert),
    path("", include("city311.urls")),
]
