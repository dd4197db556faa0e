"""Every change to an article: saved with its translations, a revision, and the search index
brought up to date in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from city311.catalog.actions import set_translations
from city311.knowledge import index
from city311.knowledge.documents import article_documents
from city311.knowledge.models import Article, ArticleRevision, ArticleStatus


class ArticleError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def snapshot(article: Article) -> dict[str, Any]:
    """Everything an editor can change, in every language: what a revision keeps."""
    texts: dict[str, dict[str, str]] = {}
    for t in article.translations.all().order_by("language", "field"):
        texts.setdefault(t.language, {})[t.field] = t.text
    return {
        **{f: getattr(article, f) for f in ("slug", "audience", "status", *article.translatable)},
        "department": article.department.slug if article.department else None,
        "review_by": article.review_by.isoformat() if article.review_by else None,
        "service_types": sorted(article.service_types.values_list("service_code", flat=True)),
        "related": sorted(article.related.values_list("slug", flat=True)),
        "translations": texts,
    }


@transaction.atomic
def record_change(
    article: Article, *, by: User | None, note: str = "", reindex: bool = True
) -> ArticleRevision | None:
    """After any change to `article` (fields, translations, links): a revision when it differs
    from the last, and its search documents replaced. Every editing path ends here."""
    # Lock the article: two editors saving at once must not take the same revision number.
    Article.objects.select_for_update().filter(pk=article.pk).first()
    content = snapshot(article)
    last = article.revisions.order_by("-number").first()
    revision = None
    if last is None or last.content != content:
        number = (article.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
        revision = ArticleRevision.objects.create(
            article=article, number=number, by=by, note=note[:200], content=content
        )
        Article.objects.filter(pk=article.pk).update(updated_at=timezone.now())
    if reindex:  # else the caller refreshes the knowledge base's documents once, for many
        index.replace("knowledge", "article", article.slug, article_documents(article))
    return revision


@transaction.atomic
def save_article(
    article: Article,
    *,
    translations: Mapping[str, Mapping[str, str]] | None = None,
    service_codes: list[str] | None = None,
    related: list[str] | None = None,
    by: User | None,
    note: str = "",
) -> Article:
    """Create or update `article` with its texts in other languages and its links."""
    from city311.catalog.models import ServiceType

    if article.status == ArticleStatus.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    article.save()
    for language, texts in (translations or {}).items():
        set_translations(article, language, texts)
    if service_codes is not None:
        article.service_types.set(ServiceType.objects.filter(service_code__in=service_codes))
    if related is not None:
        article.related.set(Article.objects.filter(slug__in=related).exclude(pk=article.pk))
    record_change(article, by=by, note=note)
    return article


@transaction.atomic
def publish_article(article: Article, *, by: User | None) -> Article:
    if article.status == ArticleStatus.PUBLISHED:
        raise ArticleError("This article is already published.")
    article.status = ArticleStatus.PUBLISHED
    article.published_at = timezone.now()
    article.save(update_fields=["status", "published_at"])
    record_change(article, by=by, note="published")
    return article


@transaction.atomic
def unpublish_article(article: Article, *, by: User | None) -> Article:
    if article.status == ArticleStatus.DRAFT:
        raise ArticleError("This article is a draft already.")
    article.status = ArticleStatus.DRAFT
    article.save(update_fields=["status"])
    record_change(article, by=by, note="back to draft")
    return article


def record_article_use(article: Article, *, by: User | None) -> None:
    """A call taker answered a caller with `article`. Counted here; the call centre's
    Interaction (issue 17) will also name the article, through this one function."""
    Article.objects.filter(pk=article.pk).update(used_count=F("used_count") + 1)
