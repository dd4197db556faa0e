"""The one search index: documents from every app, full-text matched by the database, re-ranked.

Any app is searchable by having `city311/<app>/documents.py` with a `documents()` function
yielding documents: dicts or objects with `kind`, `key`, `language`, `title`, `body`, `url`,
`audience` ("public" or "staff") and, optionally, `keywords` (words that count like the title).
It may also have `version()`, a short text that changes whenever its documents do: the index
then refreshes that app's documents on the next search after a change (the catalog does this).
Otherwise the app calls `refresh(app)` or `replace(...)` from its actions. docs/knowledge.md.

Matching runs in the database — SQLite FTS5 or PostgreSQL full-text search over normalised
terms (`knowledge/text.py`), no other service — and returns a few dozen candidates; typing
errors are corrected against the index's own vocabulary first (rapidfuzz), and the candidates
are re-ranked by how much of the question each covers, in its title first.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import math
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Substr
from rapidfuzz import fuzz, process

from city311.knowledge.checks import require_search_database
from city311.knowledge.models import Audience, SearchDocument, SearchMiss, SearchSource
from city311.knowledge.text import query_terms, terms, words

FIELDS = ("kind", "key", "language", "title", "body", "url", "audience")
CANDIDATES = 40
# A word in more than this share of the documents finds no candidates by itself.
COMMON = 0.1
# How sure a corrected word is, at least (rapidfuzz ratio, 0-100).
TYPO_CUTOFF = 80


@dataclass(frozen=True)
class Hit:
    kind: str
    key: str
    language: str
    title: str
    snippet: str
    url: str
    audience: str
    score: float


# Writing ------------------------------------------------------------------------------------


def _value(document: Any, name: str) -> str:
    if isinstance(document, dict):
        return str(document.get(name) or "")
    return str(getattr(document, name, "") or "")


def _row(source: str, document: Any) -> SearchDocument:
    values = {name: _value(document, name) for name in FIELDS}
    missing = [name for name in ("kind", "key", "language", "title", "url") if not values[name]]
    if missing:
        raise ValueError(f"A {source} search document has no {', '.join(missing)}: {values}")
    if values["audience"] not in Audience.values:
        values["audience"] = Audience.PUBLIC
    language = values["language"]
    title = values["title"] + " " + _value(document, "keywords")
    return SearchDocument(
        source=source,
        name_terms=" ".join(terms(values["title"], language)),
        title_terms=" ".join(terms(title, language)),
        terms=" ".join(terms(values["body"], language)),
        **{**values, "title": values["title"][:300], "url": values["url"][:300]},
    )


def _fts_insert(rows: list[SearchDocument]) -> None:
    if connection.vendor != "sqlite" or not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO knowledge_fts(rowid, title_terms, terms, audience) "
            "VALUES (%s, %s, %s, %s)",
            [(r.pk, r.title_terms, r.terms, r.audience) for r in rows],
        )


def _delete(documents: Any) -> None:
    ids = list(documents.values_list("pk", flat=True))
    if connection.vendor == "sqlite" and ids:
        with connection.cursor() as cursor:
            for at in range(0, len(ids), 500):
                chunk = ids[at : at + 500]
                marks = ",".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM knowledge_fts WHERE rowid IN ({marks})", chunk)
    SearchDocument.objects.filter(pk__in=ids).delete()


def _insert(source: str, documents: Iterable[Any]) -> int:
    rows = [_row(source, d) for d in documents]
    # bulk_create sets primary keys on SQLite and PostgreSQL alike; the FTS rows need them.
    SearchDocument.objects.bulk_create(rows, batch_size=500)
    _fts_insert(rows)
    return len(rows)


@transaction.atomic
def replace(source: str, kind: str, key: str, documents: Iterable[Any]) -> int:
    """Put `documents` in place of the ones of (`kind`, `key`): one thing changed."""
    _delete(SearchDocument.objects.filter(kind=kind, key=key))
    _bump()
    return _insert(source, documents)


@functools.cache
def sources() -> dict[str, Any]:
    """Each installed city311 app's documents module, by app label; apps without one skipped."""
    found = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("city311."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.documents")
        except ModuleNotFoundError as e:
            if e.name != f"{config.name}.documents":
                raise
            continue
        found[config.label] = module
    return found


@transaction.atomic
def refresh(source: str) -> int:
    """Rebuild one app's documents from its `documents()`."""
    module = sources().get(source)
    _delete(SearchDocument.objects.filter(source=source))
    _bump()
    if module is None:
        return 0
    count = _insert(source, module.documents())
    if hasattr(module, "version"):
        SearchSource.objects.update_or_create(
            source=source, defaults={"version": str(module.version())}
        )
    return count


def rebuild() -> dict[str, int]:
    """Every app's documents, afresh: `city311 reindex`."""
    counts = {source: refresh(source) for source in sources()}
    with transaction.atomic():
        _delete(SearchDocument.objects.exclude(source__in=list(counts)))
        _bump()
    return counts


def _fresh() -> str:
    """Refresh the documents of apps whose `version()` moved since they were indexed; the
    index's token after that. One small query when nothing moved."""
    stored = dict(SearchSource.objects.values_list("source", "version"))
    moved = False
    for source, module in sources().items():
        if hasattr(module, "version") and stored.get(source) != str(module.version()):
            # Another process may refresh the same documents at the same moment.
            with contextlib.suppress(IntegrityError):
                refresh(source)
            moved = True
    return _stamp() if moved else stored.get(INDEX, "")


# Reading ------------------------------------------------------------------------------------


@dataclass
class _Vocabulary:
    stamp: str
    terms: list[str]
    documents: dict[str, int]
    total: int


_vocabulary: _Vocabulary | None = None
_lock = threading.Lock()


INDEX = "(index)"


def _bump() -> None:
    """Mark the index changed, in the transaction that changed it. A random token rather than a
    counter: a rolled-back change can never leave another index under the token a process
    cached its vocabulary for."""
    SearchSource.objects.update_or_create(source=INDEX, defaults={"version": uuid.uuid4().hex})


def _stamp() -> str:
    return SearchSource.objects.filter(source=INDEX).values_list("version", flat=True).first() or ""


def _read_vocabulary() -> dict[str, int]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT term, doc FROM knowledge_fts_vocab")
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT word, ndoc FROM ts_stat('SELECT vector FROM knowledge_searchdocument')"
            )
        else:
            require_search_database()
        return {str(term): int(n) for term, n in cursor.fetchall()}


def vocabulary(stamp: str | None = None) -> _Vocabulary:
    """The index's terms and how many documents hold each, re-read when the index changed."""
    global _vocabulary
    stamp = _stamp() if stamp is None else stamp
    found = _vocabulary
    if found is not None and found.stamp == stamp:
        return found
    with _lock:
        documents = _read_vocabulary()
        total = SearchDocument.objects.count()
        found = _Vocabulary(stamp, sorted(documents), documents, max(total, 1))
        _vocabulary = found
    return found


def _expand(text: str, vocab: _Vocabulary) -> list[dict[str, float]]:
    """Each word of the question as the index terms it may mean, with how sure (1.0 exact)."""
    groups = []
    for options in query_terms(text):
        known = {t: 1.0 for t in options if t in vocab.documents}
        if not known:
            for option in options:
                if len(option) < 4:
                    continue
                close = process.extract(
                    option, vocab.terms, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF, limit=2
                )
                for match, score, _ in close:
                    known[match] = max(known.get(match, 0.0), score / 100)
        if known:
            groups.append(known)
    return groups


def _selective(groups: list[dict[str, float]], vocab: _Vocabulary) -> list[list[str]]:
    """The question's words that pick out documents, rarest first: a word in more than a tenth
    of them ("call", "open") still counts when ranking but finds no candidates, unless no word
    is rarer."""
    ranked = sorted(groups, key=lambda g: min(vocab.documents.get(t, 0) for t in g))
    rare = [g for g in ranked if max(vocab.documents.get(t, 0) for t in g) <= COMMON * vocab.total]
    return [sorted(g) for g in (rare or ranked[:1])]


def _run(cursor: Any, every: list[list[str]], how: str, public_only: bool) -> list[int]:
    """Ids of the documents whose titles hold any of the words (`how` "title"), that hold all
    the groups ("all") or any of them ("any"), best first."""
    if connection.vendor == "sqlite":
        parts = ["(" + " OR ".join(f'"{t}"' for t in group) + ")" for group in every]
        match = (" AND " if how == "all" else " OR ").join(parts)
        if how == "title":
            match = f"title_terms : ({match})"
        audience = "AND audience = 'public'" if public_only else ""
        cursor.execute(
            f"SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH %s {audience} "
            "ORDER BY rank LIMIT %s",
            [match, CANDIDATES],
        )
    else:
        parts = ["(" + " | ".join(group) + ")" for group in every]
        query = (" & " if how == "all" else " | ").join(parts)
        # Each expression is one an index is built on (migrations/0002_full_text.py).
        vector = "to_tsvector('simple', d.title_terms)" if how == "title" else "d.vector"
        audience = "AND d.audience = 'public'" if public_only else ""
        cursor.execute(
            "SELECT d.id FROM knowledge_searchdocument d, to_tsquery('simple', %s) q "
            f"WHERE {vector} @@ q {audience} ORDER BY ts_rank(d.vector, q) DESC LIMIT %s",
            [query, CANDIDATES],
        )
    return [row[0] for row in cursor.fetchall()]


def _candidates(
    groups: list[dict[str, float]], vocab: _Vocabulary, public_only: bool
) -> list[SearchDocument]:
    """Documents whose titles hold a selective word of the question, and those holding all of
    them anywhere; when that is little, those holding any. The engine ranks only what can be a
    good answer: ranking a long list of loose matches is what costs time."""
    every = _selective(groups, vocab)
    with connection.cursor() as cursor:
        ids = _run(cursor, every, "title", public_only)
        if len(every) > 1:
            ids += [i for i in _run(cursor, every, "all", public_only) if i not in ids]
        if len(ids) < CANDIDATES // 3:
            ids += [i for i in _run(cursor, every, "any", public_only) if i not in ids]
    # Bodies can be long: only the start is shown.
    found = SearchDocument.objects.defer("body").annotate(snippet=Substr("body", 1, 240))
    by_id = found.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def _weights(groups: list[dict[str, float]], vocab: _Vocabulary) -> list[float]:
    """How much each word of the question counts: the rarer in the index, the more."""
    return [
        max(math.log(1 + vocab.total / max(vocab.documents.get(t, 1), 1)) for t in group)
        for group in groups
    ]


def _score(doc: SearchDocument, groups: list[dict[str, float]], weights: list[float]) -> float:
    """How much of the question the document answers: each word weighted by its rarity,
    counted double in the title; all of it in the title scores 1."""
    # Whole terms found by substring search, in C: no set of a long body is built.
    title, body = f" {doc.title_terms} ", f" {doc.terms} "
    got = 0.0
    total = sum(weights)
    for group, weight in zip(groups, weights, strict=True):
        in_title = max((s for t, s in group.items() if f" {t} " in title), default=0.0)
        in_body = max((s for t, s in group.items() if f" {t} " in body), default=0.0)
        got += weight * max(in_title, 0.55 * in_body)
    if not total:
        return 0.0
    # Ties between documents that both cover the question go to the one whose own title is
    # most about it: "When is my trash collected?" over "My trash was not picked up".
    own = set(doc.name_terms.split())
    asked = {t for group in groups for t in group}
    precision = len(own & asked) / len(own) if own else 0.0
    return got / total + 0.15 * precision


def search(
    text: str,
    *,
    language: str = "en",
    public_only: bool = True,
    kinds: Iterable[str] | None = None,
    limit: int = 8,
    count_miss: bool = True,
) -> list[Hit]:
    """The best documents for a question, best first, one per thing (in the reader's language
    where it has one). A question that finds nothing is counted for the content-gap report."""
    vocab = vocabulary(_fresh())
    groups = _expand(text[:200], vocab)
    found: dict[tuple[str, str], Hit] = {}
    if groups:
        allowed = set(kinds) if kinds else None
        candidates = _candidates(groups, vocab, public_only)
        weights = _weights(groups, vocab)
        for rank, doc in enumerate(candidates):
            if allowed is not None and doc.kind not in allowed:
                continue
            # The engine's own order (bm25, ts_rank) breaks what ties remain.
            score = _score(doc, groups, weights) + 0.03 * (1 - rank / len(candidates))
            if doc.language == language:
                score += 0.02
            hit = Hit(
                kind=doc.kind,
                key=doc.key,
                language=doc.language,
                title=doc.title,
                snippet=doc.snippet,  # type: ignore[attr-defined]
                url=doc.url,
                audience=doc.audience,
                score=round(score, 4),
            )
            best = found.get((doc.kind, doc.key))
            if best is None or hit.score > best.score:
                found[(doc.kind, doc.key)] = hit
    hits = sorted(found.values(), key=lambda h: -h.score)
    hits = [h for h in hits if h.score >= 0.3][:limit]
    if not hits and count_miss:
        count_missed(text, language)
    return hits


def count_miss_words(text: str) -> str:
    """The words of a search worth keeping: no digits, nothing like an e-mail address."""
    kept = [w for w in text.split() if "@" not in w and not any(c.isdigit() for c in w)]
    return " ".join(words(" ".join(kept)))[:200]


def count_missed(text: str, language: str) -> None:
    from django.db.models import F
    from django.utils import timezone

    kept = count_miss_words(text)
    if not kept:
        return
    miss, _ = SearchMiss.objects.get_or_create(words=kept, language=language[:16])
    SearchMiss.objects.filter(pk=miss.pk).update(
        count=F("count") + 1, last_seen=timezone.localdate()
    )
