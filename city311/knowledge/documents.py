"""The knowledge base's search documents: each published article in each language it has."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.urls import reverse

from city311.knowledge.models import Article
from city311.knowledge.text import plain


def article_documents(article: Article) -> Iterator[dict[str, str]]:
    """Nothing for a draft; a public or staff-only document per language otherwise."""
    if article.status != "published":
        return
    url = reverse("portal:help_article", args=[article.slug])
    for language, _name in settings.LANGUAGES:
        title = article.translated("title", language)
        if language != "en" and title == article.title:
            continue  # not translated: the English document answers
        text = [article.translated(f, language) for f in ("summary", "body")]
        yield {
            "kind": "article",
            "key": article.slug,
            "language": language,
            "title": title,
            "keywords": article.translated("keywords", language),
            "body": text[0] + "\n" + plain(text[1]),
            "url": url,
            "audience": article.audience,
        }


def documents() -> Iterator[dict[str, str]]:
    for article in Article.objects.published().prefetch_related("translations"):
        yield from article_documents(article)
