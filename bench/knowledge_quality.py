"""How often the right article is among the first three answers, for 200 residents' questions.

    CITY311_DATA_DIR=/tmp/kq python bench/knowledge_quality.py [--misses]

Loads the demo city's catalog and articles into a fresh database, asks every question of
tests/data/knowledge_questions.txt through the one search (answers only, then every kind), and
prints the share found in the top 3 and the top 1. Goal: top 3 for at least 90%.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "knowledge_questions.txt"


def questions() -> list[tuple[str, str]]:
    rows = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            slug, question = (part.strip() for part in line.split("|", 1))
            rows.append((slug, question))
    return rows


def rank_of(slug: str, question: str, *, answers_only: bool) -> int | None:
    from city311.knowledge.index import search

    kinds = ["article"] if answers_only else None
    hits = search(question, kinds=kinds, limit=10, count_miss=False)
    keys = [h.key for h in hits if h.kind == "article" or not answers_only]
    return keys.index(slug) + 1 if slug in keys else None


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from city311.demo.loader import load_knowledge, load_pack

    call_command("migrate", verbosity=0)
    load_pack(sections=set())
    load_knowledge()
    asked = questions()
    for answers_only in (True, False):
        ranks = [rank_of(slug, q, answers_only=answers_only) for slug, q in asked]
        top3 = sum(1 for r in ranks if r is not None and r <= 3)
        top1 = sum(1 for r in ranks if r == 1)
        label = "answers only" if answers_only else "every kind (articles, services, ...)"
        print(
            f"{label}: top 3 {top3}/{len(asked)} = {top3 / len(asked):.1%}, "
            f"top 1 {top1}/{len(asked)} = {top1 / len(asked):.1%}"
        )
        if "--misses" in sys.argv:
            for (slug, q), r in zip(asked, ranks, strict=True):
                if r is None or r > 3:
                    print(f"   {r}  {slug}  <- {q}")


if __name__ == "__main__":
    main()
