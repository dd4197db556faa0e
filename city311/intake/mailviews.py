"""The call takers' page of e-mail waiting: each message with its suggested type and place, a
link to file it in the console with the form filled in, and the quarantine to release from."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from city311.accounts.decorators import staff_required
from city311.contacts import actions as contacts
from city311.contacts.access import can_log_contacts
from city311.intake import mail
from city311.intake.models import InboundMail, MailStatus

_call_taker = staff_required(
    can=can_log_contacts, message="Only call takers and administrators handle e-mail to 311."
)


def file_link(item: InboundMail) -> str:
    """The console's form for the suggested type, filled in from the message."""
    values = {"description": item.text[:2000], "address_string": item.address_string}
    values.update(email=item.sender, channel="email")
    if item.service_type is not None:
        path = reverse("console:new", args=[item.service_type.service_code])
        return f"{path}?{urlencode(values)}"
    return f"{reverse('console:start')}?{urlencode({'q': item.subject[:100]})}"


@_call_taker
def waiting(request: HttpRequest) -> HttpResponse:
    items = mail.waiting()
    rows = [(item, file_link(item)) for item in items]
    return render(
        request,
        "intake/mail_waiting.html",
        {
            "waiting": [r for r in rows if r[0].status == MailStatus.WAITING],
            "quarantined": [r for r in rows if r[0].status == MailStatus.QUARANTINED],
        },
    )


@_call_taker
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    mail.release(get_object_or_404(InboundMail, pk=pk), by=request.user)
    return redirect("intake:mail_waiting")


@_call_taker
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    """A call taker takes a message: its interaction becomes the contact in their hands (the
    console ends it when they file), and the console's form opens filled in from it."""
    item = get_object_or_404(InboundMail, pk=pk, status=MailStatus.WAITING)
    if item.interaction is not None and not item.interaction.kind:
        contacts.answer_interaction(item.interaction, by=request.user)
    return redirect(file_link(item))


@_call_taker
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(InboundMail, pk=pk, status=MailStatus.THREADED)
    mail.publish(item, by=request.user)
    return redirect("intake:mail_waiting")
