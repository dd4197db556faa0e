"""What reading the catalog costs the pages that read it: queries and server time per page.

    CITY311_DATA_DIR=/tmp/bench-catalog .venv/bin/python bench/catalog_reads.py [--samples 200]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_catalog \\
        .venv/bin/python bench/catalog_reads.py

Migrates the database, loads the demo city's catalog (83 types, 162 questions, 489 choices, their
Spanish), then answers each page --samples times in this one process through Django's test
client (no network), in English and in Spanish, and prints per page the queries one answer makes
(all, and those reading catalog tables), the p50 and p95 time to answer, and the p50 of this
process's CPU time per answer (steadier than wall time on a shared machine; excludes the database
server's own work). Run it on two
checkouts to compare them: it uses only pages and the demo loader.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", str(ROOT / "var" / "bench-catalog"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"

STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"
PAGES = [
    "/",
    "/report/",
    "/report/?q=there%27s+a+big+hole+in+my+street",
    "/report/pothole/",
    "/requests/",
    "/api/services/suggest?q=pot+holes",
    "/open311/v2/services.json",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from city311.demo import loader

    # Static files by name, as the tests serve them: no collectstatic needed.
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": STATIC}}
    override_settings(STORAGES=storages).enable()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    loader.load_catalog()
    print(f"load_catalog: {time.perf_counter() - started:.2f} s ({connection.vendor})")

    print(
        f"{'page':<48} {'lang':<4} {'queries':>7} {'catalog':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'cpu ms':>7}"
    )
    for language in ("en", "es"):
        client = Client(headers={"accept-language": language})
        for page in PAGES:
            client.get(page, follow=True)  # warm: session, snapshot, templates
            sql: list[str] = []

            def record(execute, statement, params, many, context, sql=sql):  # type: ignore[no-untyped-def]
                sql.append(statement)
                return execute(statement, params, many, context)

            with connection.execute_wrapper(record):
                client.get(page, follow=True)
            catalog = [q for q in sql if '"catalog_' in q]
            times, cpu = [], []
            for _ in range(args.samples):
                at, cpu_at = time.perf_counter(), time.process_time()
                response = client.get(page, follow=True)
                times.append((time.perf_counter() - at) * 1000)
                cpu.append((time.process_time() - cpu_at) * 1000)
            assert response.status_code == 200, (page, response.status_code)
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(
                f"{page[:48]:<48} {language:<4} {len(sql):>7} "
                f"{len(catalog):>7} {p50:>7.2f} {p95:>7.2f} {statistics.median(cpu):>7.2f}"
            )


if __name__ == "__main__":
    main()
