"""The knowledge base in a city pack: `knowledge.yaml`, or a `knowledge/` folder of YAML files
read in name order, each with a list of `articles` (docs/city-pack.md)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from city311.cities.pack.files import Mapping, Problems, find, line_of, read_yaml

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
FIELDS = ("title", "summary", "body", "keywords", "next_steps")
REQUIRED = ("title", "summary", "body")
AUDIENCES = ("public", "staff")
STATUSES = ("draft", "published")


def read(folder: Path, problems: Problems) -> list[tuple[str, Mapping]] | None:
    """Every article the pack gives, with the name of its file; None when it gives none."""
    files: list[tuple[str, Path]] = []
    single = find(folder, "knowledge")
    if single is not None:
        files.append((single.name, single))
    if (folder / "knowledge").is_dir():
        for path in sorted((folder / "knowledge").glob("*.y*ml")):
            files.append((f"knowledge/{path.name}", path))
    if not files:
        return None
    articles: list[tuple[str, Mapping]] = []
    for name, path in files:
        data = read_yaml(path, name, problems)
        if data is None:
            continue
        found = data.get("articles") or []
        if not isinstance(found, list) or not all(isinstance(a, dict) for a in found):
            problems.add(name, line_of(data), "articles must be a list of mappings.")
            continue
        articles.extend((name, a) for a in found)
    return articles


def check(
    articles: list[tuple[str, Mapping]],
    *,
    departments: set[str],
    codes: set[str],
    languages: set[str],
    existing_slugs: set[str],
    problems: Problems,
) -> None:
    add = problems.add
    slugs = {str(a.get("slug") or "") for _, a in articles}
    seen: set[str] = set()
    for name, a in articles:
        slug, line = str(a.get("slug") or ""), line_of(a)
        if not _SLUG.match(slug):
            add(name, line, "an article needs a slug of letters, digits, - and _.")
        elif slug in seen:
            add(name, line, f"the article {slug!r} is listed twice.")
        seen.add(slug)
        for field in REQUIRED:
            if not str(a.get(field) or "").strip():
                add(name, line, f"the article {slug!r} has no {field}.")
        if a.get("audience", "public") not in AUDIENCES:
            add(name, line, f"{slug}: audience must be public or staff.")
        if a.get("status", "published") not in STATUSES:
            add(name, line, f"{slug}: status must be draft or published.")
        department = a.get("department")
        if department and department not in departments:
            add(name, line, f"{slug}: no department {department!r}.")
        review_by = a.get("review_by")
        if review_by is not None and not isinstance(review_by, date):
            add(name, line, f"{slug}: review_by must be a date such as 2027-06-30.")
        for code in a.get("service_types") or []:
            if code not in codes:
                add(name, line, f"{slug}: no service type {code!r}.")
        for other in a.get("related") or []:
            if other not in slugs and other not in existing_slugs:
                add(name, line, f"{slug}: no related article {other!r}.")
        _check_translations(a, slug, languages, name, problems)


def _check_translations(
    a: Mapping, slug: str, languages: set[str], name: str, problems: Problems
) -> None:
    translations = a.get("translations") or {}
    if not isinstance(translations, dict):
        problems.add(name, line_of(a), f"{slug}: translations must map a language to its texts.")
        return
    for language, texts in translations.items():
        if language not in languages:
            problems.add(
                name, line_of(a), f"{slug}: translations in {language!r}, not in the manifest."
            )
        unknown = set(texts or {}) - set(FIELDS) if isinstance(texts, dict) else {"?"}
        if unknown:
            problems.add(
                name,
                line_of(a),
                f"{slug}: only {', '.join(FIELDS)} can be translated, not "
                f"{', '.join(sorted(unknown))}.",
            )


def apply(articles: list[tuple[str, Mapping]], texts: Any) -> list[Any]:
    """Write the articles (matched by slug); `texts` collects their translations. Returns them,
    for `record` once the translations are written."""
    from city311.catalog.models import Department, ServiceType
    from city311.knowledge.models import Article

    departments = {d.slug: d for d in Department.objects.all()}
    stored = {a.slug: a for a in Article.objects.all()}
    rows = []
    for _name, a in articles:
        article = stored.get(a["slug"]) or Article(slug=a["slug"])
        for field in FIELDS:
            setattr(article, field, str(a.get(field) or "").strip())
        article.audience = a.get("audience", "public")
        article.status = a.get("status", "published")
        article.department = departments.get(a.get("department") or "")
        article.review_by = a.get("review_by")
        article.save()
        texts.add(article, a.get("translations") or {})
        rows.append(article)
    by_slug = {a.slug: a for a in Article.objects.all()}
    types = {t.service_code: t for t in ServiceType.objects.all()}
    for article, (_name, a) in zip(rows, articles, strict=True):
        article.service_types.set([types[c] for c in a.get("service_types") or []])
        article.related.set([by_slug[s] for s in a.get("related") or [] if s in by_slug])
    return rows


def record(articles: list[Any]) -> None:
    """A revision for each article the pack changed, and its search documents."""
    from city311.knowledge import index
    from city311.knowledge.actions import record_change

    for article in articles:
        record_change(article, by=None, note="city pack", reindex=False)
    if articles:
        index.refresh("knowledge")


def export(texts: Any) -> list[dict[str, Any]]:
    """Every article, drafts too, as the pack gives them."""
    from city311.knowledge.models import Article

    rows = []
    articles = Article.objects.select_related("department").prefetch_related(
        "service_types", "related"
    )
    for article in articles.order_by("slug"):
        row: dict[str, Any] = {"slug": article.slug}
        row.update({f: getattr(article, f) for f in FIELDS if getattr(article, f)})
        row["audience"] = article.audience
        row["status"] = article.status
        if article.department:
            row["department"] = article.department.slug
        if article.review_by:
            row["review_by"] = article.review_by
        codes = sorted(t.service_code for t in article.service_types.all())
        if codes:
            row["service_types"] = codes
        related = sorted(r.slug for r in article.related.all())
        if related:
            row["related"] = related
        translated = texts(article)
        if translated:
            row["translations"] = translated
        rows.append(row)
    return rows
