"""The SLA part of the work page: the due date in words, the pause, escalation levels, and
the response templates. Kept apart from views.py, which only plugs these in."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.template import Context, Template
from django.utils import timezone
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.servicerequests import actions, sla
from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import ResponseTemplate, ServiceRequest
from city311.servicerequests.vocabulary import Pause


def panel(sr: ServiceRequest) -> dict[str, Any]:
    """What the page's SLA section shows."""
    levels = sla.timeline(sr)
    return {
        "explanation": sla.explain_due(sr),
        "levels": levels,
        "escalated": max((lv.percent for lv in levels if lv.reached), default=0),
        "pause_choices": Pause.choices,
        "pause_label": Pause(sr.paused).label if sr.paused else "",
        "templates": templates_for(sr),
    }


def templates_for(sr: ServiceRequest) -> list[ResponseTemplate]:
    """The response templates offered for the request's type and state, every language."""
    if sr.is_closed:
        return []
    rows = ResponseTemplate.objects.filter(active=True).filter(
        Q(service_type__isnull=True) | Q(service_type_id=sr.service_type_id)
    )
    rows = rows.filter(Q(status="") | Q(status=sr.status))
    return list(rows.filter(paused=bool(sr.paused)) if sr.paused else rows.filter(paused=False))


def render_template(template: ResponseTemplate, sr: ServiceRequest) -> str:
    due = timezone.localtime(sr.due_at, profile.zone()) if sr.due_at else None
    context = {
        "tracking_number": sr.tracking_number,
        "service_name": sr.service_type.translated("service_name", template.language),
        "due_at": due,
    }
    return Template(template.text).render(Context(context, autoescape=False)).strip()


def pause(request: HttpRequest, sr: ServiceRequest) -> str:
    actions.pause_request(
        sr,
        reason=request.POST.get("reason", ""),
        note=request.POST.get("note", ""),
        by=request.user,
    )
    return _("Clock paused.")


def resume(request: HttpRequest, sr: ServiceRequest) -> str:
    sr = actions.resume_request(sr, note=request.POST.get("note", ""), by=request.user)
    return _("Clock resumed: %(explanation)s.") % {"explanation": sla.explain_due(sr)}


def respond(request: HttpRequest, sr: ServiceRequest) -> str:
    """Post a response template as a public note."""
    chosen = request.POST.get("template", "")
    offered = {str(t.pk): t for t in templates_for(sr)}
    if chosen not in offered:
        raise RequestError(
            _("Choose one of the response templates offered for this request."),
            code="unknown_template",
        )
    actions.add_note(sr, text=render_template(offered[chosen], sr), public=True, by=request.user)
    return _("Update posted.")


ACTIONS = {"pause": pause, "resume": resume, "respond": respond}
