"""Reads of the knowledge base for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from city311.catalog.models import Department
from city311.knowledge import access
from city311.knowledge.index import Hit, search
from city311.knowledge.models import Article, ArticleStatus, Audience, SearchMiss
from city311.knowledge.text import render_markdown


@dataclass(frozen=True)
class Shown:
    """An article as a reader sees it, in one language."""

    article: Article
    title: str
    summary: str
    body_html: str
    next_steps_html: str
    body_text: str
    is_stale: bool


def shown(article: Article, language: str) -> Shown:
    from city311.knowledge.text import plain

    body = article.translated("body", language)
    next_steps = article.translated("next_steps", language)
    return Shown(
        article=article,
        title=article.translated("title", language),
        summary=article.translated("summary", language),
        body_html=render_markdown(body),
        next_steps_html=render_markdown(next_steps) if next_steps else "",
        body_text=plain(body),
        is_stale=article.is_stale(),
    )


def _readable(user: Any) -> Any:
    articles = Article.objects.published().prefetch_related("translations")
    if not access.can_read_staff_articles(user):
        articles = articles.filter(audience=Audience.PUBLIC)
    return articles


def article_for(user: Any, slug: str) -> Article | None:
    """A published article `user` may read, else None (drafts only through the preview)."""
    return _readable(user).filter(slug=slug).select_related("department").first()


def articles_for_service(service_code: str, *, staff: bool = False) -> list[Article]:
    """Published articles linked to a service type: "before you report" and "what happens next"."""
    articles = Article.objects.published().filter(service_types__service_code=service_code)
    if not staff:
        articles = articles.filter(audience=Audience.PUBLIC)
    return list(articles.prefetch_related("translations").order_by("title"))


def related_articles(article: Article, user: Any) -> list[Article]:
    return list(_readable(user).filter(pk__in=article.related.values("pk")))


def topics(language: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Public articles grouped by the department that owns them: the help page's topics."""
    articles = (
        Article.objects.public()
        .select_related("department")
        .prefetch_related("translations", Prefetch("department__translations"))
    )
    grouped: dict[str, list[tuple[str, str]]] = {}
    for article in articles:
        name = article.department.translated("name", language) if article.department else ""
        grouped.setdefault(name, []).append((article.slug, article.translated("title", language)))
    for found in grouped.values():
        found.sort(key=lambda item: item[1].lower())
    return sorted(grouped.items(), key=lambda item: (item[0] == "", item[0]))


def articles_by_key(hits: list[Hit]) -> dict[str, Article]:
    slugs = [h.key for h in hits if h.kind == "article"]
    found = Article.objects.filter(slug__in=slugs).prefetch_related("translations")
    return {a.slug: a for a in found}


def stale_for(user: Any) -> list[Article]:
    """Published articles past their review-by date that `user` owns (every one for those who
    see the whole city)."""
    articles = Article.objects.stale().select_related("department").order_by("review_by")
    if not access.sees_every_department(user):
        articles = articles.filter(department__in=access.department_ids(user))
    return list(articles)


def drafts_count() -> int:
    return Article.objects.filter(status=ArticleStatus.DRAFT).count()


def content_gaps(limit: int = 100) -> list[SearchMiss]:
    return list(SearchMiss.objects.order_by("-count", "-last_seen", "words")[:limit])


def departments_with_articles() -> list[Department]:
    return list(Department.objects.filter(articles__isnull=False).distinct())


def answers(text: str, language: str, *, staff: bool = False, limit: int = 5) -> list[Hit]:
    """Articles answering a question (no service types: the caller shows those itself)."""
    return search(text, language=language, public_only=not staff, kinds=["article"], limit=limit)
