"""PostgreSQL CPU per filing written as the intake writes it, and what each index costs in it.

The intake writes a filing in one statement (servicerequests.intake._insert): the request, its
contact and its two first events. This repeats that statement with values copied from stored
live requests (their types, places, words, areas, departments and teams) and measures the
CPU of its PostgreSQL backend (a server on this machine), A B A B:

- A: the tables' indexes as they are;
- B: the same, without the indexes named by `--without` (dropped inside the measuring
  transaction, which is rolled back: nothing changes).

`--each` measures every secondary index of the request and event tables alone instead: the
CPU per filing with that one index dropped, against all of them (its own cost per filing).
Every round is rolled back. Run it on a database the size of a city's (bench/work_queue.py
builds one of 1,000,000 requests):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_queues \\
        .venv/bin/python bench/insert_indexes.py --without sr_type_status,sr_updated_at
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

import psycopg

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_queues"
REQUESTS, EVENTS, CONTACTS = (
    "servicerequests_servicerequest",
    "servicerequests_requestevent",
    "servicerequests_contact",
)
COPIED = [
    "service_type_id", "status", "description", "answers", "lat", "long", "address_string",
    "address_id", "zipcode", "location_match", "location_confidence", "areas", "channel",
    "application", "department_id", "team_id", "urgent", "due_at",
]  # fmt: skip
FILING = f"""
WITH sr AS (
    INSERT INTO {REQUESTS} (tracking_number, {", ".join(COPIED)}, resolution, status_notes,
        media_url, location_to_verify, external_id, historical, idempotency_key, requested_at,
        updated_at, escalation_due_at, paused, paused_seconds, escalation_level)
    VALUES (%s, {", ".join(["%s"] * len(COPIED))}, '', '', '', false, '', false, %s, now(),
        now(), now(), '', 0, 0)
    RETURNING id
), contact AS (
    INSERT INTO {CONTACTS} (request_id, first_name, last_name, email, phone, language)
    SELECT id, 'Ada', 'Lovelace', 'ada@example.org', %s, 'en' FROM sr
), ev AS (
    INSERT INTO {EVENTS} (request_id, kind, at, actor_label, public, note, data)
    SELECT id, kind, now(), 'Open311: bench', true, note, '{{}}'::jsonb
    FROM sr, (VALUES ('submitted', ''), ('routed', 'Routed by type')) AS e(kind, note)
    RETURNING id
)
SELECT (SELECT id FROM sr), (SELECT min(id) FROM ev)
"""


def backend_cpu(conn: psycopg.Connection) -> float:
    pid = conn.info.backend_pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def secondary_indexes(conn: psycopg.Connection) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary ORDER BY 1",
            [[REQUESTS, EVENTS, CONTACTS]],
        )
    ]


def samples(conn: psycopg.Connection, count: int) -> list[tuple[Any, ...]]:
    columns = ", ".join(COPIED)
    rows = conn.execute(
        f"SELECT {columns} FROM {REQUESTS} WHERE NOT historical AND status <> 'closed' "
        f"ORDER BY random() LIMIT %s",
        [count],
    ).fetchall()
    encode = {COPIED.index("answers"), COPIED.index("areas")}
    return [tuple(json.dumps(v) if i in encode else v for i, v in enumerate(row)) for row in rows]


def measure(conn: psycopg.Connection, rows: list[tuple[Any, ...]], without: list[str]) -> float:
    """Milliseconds of backend CPU per filing, with `without` dropped; rolled back."""
    with conn.transaction(force_rollback=True):
        for name in without:
            conn.execute(f'DROP INDEX "{name}"')
        cpu = backend_cpu(conn)
        for row in rows:
            number = f"B{random.randrange(10**10):010d}"
            phone = f"+1718555{random.randrange(10**4):04d}"
            conn.execute(FILING, [number, *row, number, phone], prepare=True)
        return (backend_cpu(conn) - cpu) * 1000 / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=2000, help="per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without", default="", help="indexes to drop in B (comma-separated)")
    parser.add_argument("--each", action="store_true", help="every index's own cost")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = samples(conn, args.filings)
        indexes = secondary_indexes(conn)
        print(f"{len(indexes)} secondary indexes on the request, event and contact tables")
        measure(conn, rows[:200], [])  # warm-up: the tables' pages and the statement's plan
        sides = (
            {name: [name] for name in indexes}
            if args.each
            else {"B": [n for n in args.without.split(",") if n]}
        )
        for label, without in sides.items():
            a, b = [], []
            for _ in range(args.rounds):
                a.append(measure(conn, rows, []))
                b.append(measure(conn, rows, without))
            mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
            print(
                f"{label:32} all {mean_a:5.3f} ms, without {mean_b:5.3f} ms per filing: "
                f"{mean_a - mean_b:+6.3f} ms  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
