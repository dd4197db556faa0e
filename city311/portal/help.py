"""The resident's help pages: one search over answers, services, places and events, the
topics, and each article. Public: staff-only and draft articles are not found here."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from city311.accounts.decorators import staff_required
from city311.knowledge import access, queries
from city311.knowledge.index import search
from city311.knowledge.models import Article
from city311.triage import prompts as triage

MAX_QUERY = 200


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    q = " ".join(request.GET.get("q", "").split())[:MAX_QUERY]
    language = get_language() or "en"
    context: dict[str, Any] = {"section": "help", "q": q}
    if q:
        # An emergency first, before any answer: the same reading as every channel's.
        context["triage"] = found = triage.check(q, channel="web", language=language)
        context["advice"] = triage.advice(found)
        context["hits"] = search(q, language=language, limit=10)
    else:
        context["topics"] = queries.topics(language)
    return render(request, "portal/help/index.html", context)


@require_GET
def article(request: HttpRequest, slug: str) -> HttpResponse:
    found = queries.article_for(request.user, slug)
    if found is None:
        raise Http404(_("There is no such answer."))
    return _page(request, found, preview=False)


@staff_required(can=access.can_edit_articles, message="Only editors preview articles.")
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The article as readers will see it, draft or not: the editors' preview."""
    found = get_object_or_404(Article.objects.prefetch_related("translations"), pk=pk)
    return _page(request, found, preview=True)


def _page(request: HttpRequest, found: Article, *, preview: bool) -> HttpResponse:
    language = get_language() or "en"
    return render(
        request,
        "portal/help/article.html",
        {
            "section": "help",
            "shown": queries.shown(found, language),
            "related": [
                queries.shown(a, language) for a in queries.related_articles(found, request.user)
            ],
            "services": found.service_types.filter(active=True),
            "preview": preview,
        },
    )
