"""The console's knowledge panel: search as the caller speaks, read out an answer, record the
one used; the owners' stale-content list and the content-gap report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from city311.accounts.decorators import staff_required
from city311.knowledge import access, queries
from city311.knowledge.actions import record_article_use

_staff = staff_required(can=access.can_read_staff_articles)


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def answers_for_caller(q: str) -> list[queries.Shown]:
    """Public and staff-only answers for a caller's words, best first."""
    if not q:
        return []
    hits = queries.answers(q, "en", staff=True, limit=6)
    by_slug = queries.articles_by_key(hits)
    return [queries.shown(by_slug[h.key], "en") for h in hits if h.key in by_slug]


@_staff
def panel(request: HttpRequest) -> HttpResponse:
    """Answers for the caller's words; htmx asks for the results only, as the call taker types."""
    q = " ".join(request.GET.get("q", "").split())[:200]
    found = answers_for_caller(q)
    template = (
        "console/knowledge/_results.html"
        if request.headers.get("HX-Request")
        else ("console/knowledge/panel.html")
    )
    return render(request, template, {"q": q, "answers_q": q, "found": found})


@_staff
def article(request: HttpRequest, slug: str) -> HttpResponse:
    found = queries.article_for(request.user, slug)
    if found is None:
        raise Http404(_("There is no such article."))
    language = request.GET.get("lang", "en")
    return render(
        request,
        "console/knowledge/article.html",
        {"shown": queries.shown(found, language), "spanish": queries.shown(found, "es")},
    )


@_staff
@require_POST
def use(request: HttpRequest, slug: str) -> HttpResponse:
    found = queries.article_for(request.user, slug)
    if found is None:
        raise Http404(_("There is no such article."))
    record_article_use(found, by=_user(request))
    messages.success(
        request, _("Recorded: you answered with “%(title)s”.") % {"title": found.title}
    )
    return redirect("console:article", slug=found.slug)


@_staff
def stale(request: HttpRequest) -> HttpResponse:
    return render(
        request, "console/knowledge/stale.html", {"articles": queries.stale_for(request.user)}
    )


@staff_required(
    can=access.can_see_content_gaps,
    message=gettext_lazy("Supervisors, managers and administrators see the content-gap report."),
)
def gaps(request: HttpRequest) -> HttpResponse:
    return render(request, "console/knowledge/gaps.html", {"misses": queries.content_gaps()})
