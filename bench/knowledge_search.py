"""How fast the one search answers over 5,000 articles in two languages, and how often the
demo's right answer stays in the top 3 among them.

    CITY311_DATA_DIR=/tmp/bench-knowledge python bench/knowledge_search.py [--articles 5000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_knowledge \\
        python bench/knowledge_search.py

Migrates the database, loads the demo city's catalog and articles, adds --articles more
published articles written from the demo's own words (random titles of 4 to 8 words, bodies of
60 to 150, each with a Spanish translation: 2 documents each), indexes them, then asks the 200
questions of tests/data/knowledge_questions.txt and a copy of each with a typing error (two
letters swapped) through `search()`, three times over, and prints p50 and p95 milliseconds and
the top-3 share. Goal: p95 at most 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", str(ROOT / "var" / "bench-knowledge"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"


def typo(text: str, rng: random.Random) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) > 4]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def add_articles(count: int, rng: random.Random) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    from city311.catalog.models import Translation
    from city311.knowledge import index
    from city311.knowledge.models import Article
    from city311.knowledge.text import words

    english, spanish = [], []
    for a in Article.objects.prefetch_related("translations"):
        english += words(a.title + " " + a.summary + " " + a.body)
        spanish += words(a.translated("summary", "es") + " " + a.translated("body", "es"))

    def text(pool: list[str], low: int, high: int) -> str:
        return " ".join(rng.choice(pool) for _ in range(rng.randint(low, high)))

    with transaction.atomic():
        rows = [
            Article(
                slug=f"bench-{i}",
                title=text(english, 4, 8).capitalize(),
                summary=text(english, 12, 25),
                body=text(english, 60, 150),
                status="published",
            )
            for i in range(count)
        ]
        Article.objects.bulk_create(rows, batch_size=500)
        content_type = ContentType.objects.get_for_model(Article)
        texts = []
        for row in Article.objects.filter(slug__startswith="bench-"):
            for field, low, high in (("title", 4, 8), ("summary", 12, 25), ("body", 60, 150)):
                texts.append(
                    Translation(
                        content_type=content_type,
                        object_id=row.pk,
                        field=field,
                        language="es",
                        text=text(spanish, low, high),
                    )
                )
        Translation.objects.bulk_create(texts, batch_size=1000)
        index.refresh("knowledge")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from city311.demo.loader import load_knowledge, load_pack
    from city311.knowledge.index import search
    from city311.knowledge.models import Article, SearchDocument

    sys.path.insert(0, str(ROOT / "bench"))
    from knowledge_quality import questions

    call_command("migrate", verbosity=0)
    rng = random.Random(311)
    started = time.perf_counter()
    # A second run on the same database reuses the articles (indexing them takes minutes).
    if Article.objects.filter(slug__startswith="bench-").count() != args.articles:
        Article.objects.filter(slug__startswith="bench-").delete()
        load_pack(sections=set())
        load_knowledge()
        add_articles(args.articles, rng)
    print(
        f"{connection.vendor}: {Article.objects.count()} articles, "
        f"{SearchDocument.objects.count()} documents, indexed in "
        f"{time.perf_counter() - started:.1f} s"
    )
    asked = questions()
    queries = [q for _, q in asked] + [typo(q, rng) for _, q in asked]
    search("warm up")
    times, cpu = [], []
    for _ in range(args.rounds):
        for q in queries:
            t, c = time.perf_counter(), time.process_time()
            search(q, count_miss=False)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    # Wall time includes waiting for a core on a shared machine; this process's CPU time does
    # not (nor SQLite's work, which runs in this process, does it leave anything out).
    for label, found in (("wall", times), ("cpu", cpu)):
        found.sort()
        p95 = found[int(len(found) * 0.95)]
        print(
            f"search {label}: {len(found)} queries, p50 {statistics.median(found):.1f} ms, "
            f"p95 {p95:.1f} ms, max {found[-1]:.1f} ms (goal p95 <= 50 ms)"
        )
    top3 = sum(
        slug in [h.key for h in search(q, kinds=["article"], limit=3, count_miss=False)]
        for slug, q in asked
    )
    print(f"right answer in the top 3 among them: {top3}/{len(asked)} = {top3 / len(asked):.1%}")


if __name__ == "__main__":
    main()
