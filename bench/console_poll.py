"""The console's poll between calls: what it costs to ask "has the phone system given me a call?".

A call taker's console asks `GET /console/popped/` every POLL_SECONDS between calls; the answer
is a bare 204 until the webhook's "answered" gives them a call (then HX-Refresh pops the card).
This prints the requests per minute per call taker and for a centre of `--call-takers`, and the
"nothing new" answer's p50/p95 through Django's test client as a signed-in call taker (the
whole middleware stack: session, user, two-factor devices, permissions, the one EXISTS read:
seven queries for a call taker without an authenticator), on the database
DATABASE_URL names, with `--interactions` contacts (of other call takers) in the table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_poll \\
        .venv/bin/python bench/console_poll.py --interactions 200000 --rounds 1000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_poll"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--call-takers", type=int, default=36)  # Sacramento's
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    os.environ.setdefault("CITY311_DATA_DIR", str(Path.cwd() / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from city311.accounts import roles
    from city311.contacts.models import Interaction

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    roles.ensure_roles()
    others, _ = User.objects.get_or_create(username="bench-other-call-taker")
    have = Interaction.objects.count()
    if have < args.interactions:
        with connection.cursor() as c:  # closed contacts of someone else, over 30 days
            c.execute(
                "INSERT INTO contacts_interaction (channel, phone, email, language, kind, "
                "wrap_up, call_id, started_at, answered_at, ended_at, hold_seconds, "
                "handle_seconds, staff_id) SELECT 'phone', '', '', '', 'information', "
                "'answered', '', now() - (g %% 43200) * interval '1 minute', "
                "now() - (g %% 43200) * interval '1 minute', "
                "now() - (g %% 43200) * interval '1 minute' + interval '2 minutes', 0, 120, %s "
                "FROM generate_series(%s, %s) g",
                [others.pk, have + 1, args.interactions],
            )
            if connection.vendor == "postgresql":
                c.execute("ANALYZE contacts_interaction")
    omar, _ = User.objects.get_or_create(username="bench-call-taker")
    omar.groups.add(Group.objects.get(name=roles.CALL_TAKER))
    Interaction.objects.filter(staff=omar).delete()
    client = Client()
    client.force_login(omar)
    popped = reverse("console:popped")
    template = (Path(settings.BASE_DIR) / "templates/console/_popped.html").read_text()
    poll_s = int(re.search(r"every (\d+)s", template).group(1))  # type: ignore[union-attr]
    for _ in range(20):  # warm: the session cache, the connection
        client.get(popped)
    samples = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        r = client.get(popped)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 204 and not r.content and "HX-Refresh" not in r
    p95 = statistics.quantiles(samples, n=20)[-1]
    per_minute = 60 / poll_s
    centre = per_minute * args.call_takers
    print(
        f"{connection.vendor}: {Interaction.objects.count():,} interactions; polls every "
        f"{poll_s} s = {per_minute:.0f} requests/min per call taker, {centre:.0f}/min "
        f"({centre / 60:.1f}/s) for {args.call_takers} call takers"
    )
    print(
        f"'nothing new' (204, {len(r.content)} bytes): p50 {statistics.median(samples):.1f} ms  "
        f"p95 {p95:.1f} ms  max {max(samples):.1f} ms  ({args.rounds} rounds); one process busy "
        f"{centre * statistics.mean(samples) / 600:.2f}% "
        f"of a core for the whole centre"
    )


if __name__ == "__main__":
    main()
