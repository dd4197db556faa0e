"""A JSON API in the spirit of Open311 Inquiry v1: FAQs (the knowledge base's public articles),
services with their answers, and the one search. Facilities come from the facilities app."""

from __future__ import annotations

from typing import Any, TypedDict

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_GET

from city311.catalog import cache as catalog_cache
from city311.knowledge import queries
from city311.knowledge.index import search
from city311.knowledge.models import Article
from city311.triage import prompts as triage

MAX_QUERY = 200


class Faq(TypedDict):
    id: str
    question: str
    answer: str
    answer_html: str
    url: str
    language: str
    services: list[str]
    expiration: str | None
    updated: str


def _language(request: HttpRequest) -> str | JsonResponse:
    from django.conf import settings

    language = request.GET.get("lang", "en")
    offered = [code for code, _ in settings.LANGUAGES]
    if language not in offered:
        return _problem(f"lang must be one of {', '.join(offered)}; it was {language[:20]!r}.")
    return language


def _problem(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _faq(request: HttpRequest, article: Article, language: str) -> Faq:
    shown = queries.shown(article, language)
    url = request.build_absolute_uri(reverse("portal:help_article", args=[article.slug]))
    return {
        "id": article.slug,
        "question": shown.title,
        "answer": shown.summary + "\n\n" + shown.body_text,
        "answer_html": shown.body_html,
        "url": url,
        "language": language,
        "services": sorted(t.service_code for t in article.service_types.all()),
        "expiration": article.review_by.isoformat() if article.review_by else None,
        "updated": article.updated_at.isoformat(),
    }


@require_GET
def faqs(request: HttpRequest) -> JsonResponse:
    """Public FAQs; ?service_code= those of one service, ?q= those answering a question."""
    language = _language(request)
    if isinstance(language, JsonResponse):
        return language
    articles = Article.objects.public().prefetch_related("translations", "service_types")
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    if code := request.GET.get("service_code", "").strip():
        if catalog_cache.active_type(code) is None:
            return _problem(f"There is no service {code[:40]!r}: see /open311/v2/services.json.")
        articles = articles.filter(service_types__service_code=code)
    if q:
        order = [h.key for h in search(q, language=language, kinds=["article"], limit=10)]
        by_slug = {a.slug: a for a in articles.filter(slug__in=order)}
        chosen = [by_slug[s] for s in order if s in by_slug]
    else:
        chosen = list(articles.order_by("slug"))
    return JsonResponse({"faqs": [_faq(request, a, language) for a in chosen]})


@require_GET
def faq(request: HttpRequest, slug: str) -> JsonResponse:
    language = _language(request)
    if isinstance(language, JsonResponse):
        return language
    found = Article.objects.public().prefetch_related("translations", "service_types")
    article = found.filter(slug=slug).first()
    if article is None:
        return _problem(f"There is no public FAQ {slug[:80]!r}: see faqs.json.", 404)
    return JsonResponse(_faq(request, article, language))


@require_GET
def services(request: HttpRequest) -> JsonResponse:
    """Service types as Inquiry describes them, each with its FAQs and a Service Request action."""
    language = _language(request)
    if isinstance(language, JsonResponse):
        return language
    linked: dict[str, list[str]] = {}
    for slug, code in Article.objects.public().values_list("slug", "service_types__service_code"):
        if code:
            linked.setdefault(code, []).append(slug)
    rows: list[dict[str, Any]] = []
    for t in catalog_cache.active_types():
        url = request.build_absolute_uri(reverse("portal:report_type", args=[t.service_code]))
        rows.append(
            {
                "id": t.service_code,
                "name": t.translated("service_name", language),
                "brief_description": t.translated("description", language),
                "categories": [t.translated("group", language)] if t.group else [],
                "url": url,
                "faqs": sorted(linked.get(t.service_code, [])),
                "web_actions": [{"type": "Service Request", "name": t.service_name, "url": url}],
            }
        )
    return JsonResponse({"services": rows})


@require_GET
def search_all(request: HttpRequest) -> JsonResponse:
    """One search over answers, services, facilities and events: ?q=, optional ?lang=.

    The words are read for an emergency first, as in every channel: when they are one, the
    answer says whom to call before any result."""
    language = _language(request)
    if isinstance(language, JsonResponse):
        return language
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    if not q:
        return _problem("Give q, the question or words to search for: ?q=pool+hours.")
    with translation.override(language):
        emergency = triage.api_answer(triage.check(q, channel="api", language=language))
    hits = search(q, language=language, limit=10)
    return JsonResponse(
        {
            "query": q,
            **emergency,
            "results": [
                {
                    "kind": h.kind,
                    "id": h.key,
                    "title": h.title,
                    "snippet": h.snippet,
                    "url": request.build_absolute_uri(h.url),
                    "language": h.language,
                    "score": h.score,
                }
                for h in hits
            ],
        }
    )
