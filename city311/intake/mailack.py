"""The answer a new e-mail to 311 gets at once: it was received, a call taker will read it,
and whether a person answers the phones now (contacts.hours, the words every channel says).

Only a new message waiting for a call taker is acknowledged: a message filed at once gets the
request's own "received" message (notifications), a reply gets nothing (the thread goes on),
and mail from machines or likely spam never gets an answer (RFC 3834: no replies to
automatic mail, and `Auto-Submitted: auto-replied` on ours so other systems stay quiet).
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import pgettext

from city311.cities import profile
from city311.contacts import hours as call_centre
from city311.intake.models import InboundMail
from city311.intake.texting import language_of

log = logging.getLogger(__name__)


def acknowledgement(mail: InboundMail) -> EmailMessage:
    """The acknowledgement of `mail`, in the language of its words."""
    language = language_of(f"{mail.subject} {mail.text}")
    city = profile.current()
    with translation.override(language):
        subject = pgettext("e-mail acknowledgement", "We received your message")
        body = "\n\n".join(
            [
                pgettext(
                    "e-mail acknowledgement",
                    "Thank you for writing to %(brand)s. A call taker will read your message "
                    "and file it; you will then get its tracking number by e-mail.",
                )
                % {"brand": city.brand_name},
                call_centre.availability().text,
                pgettext("e-mail acknowledgement", "In an emergency, call %(phone)s.")
                % {"phone": city.emergency_phone},
            ]
        )
    headers = {
        "Message-ID": f"<ack-{mail.pk}@{settings.CITY311_MAIL_DOMAIN}>",
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
    }
    if mail.message_id:
        headers["In-Reply-To"] = headers["References"] = mail.message_id
    return EmailMessage(
        subject=f"{subject}: {mail.subject}"[:200] if mail.subject else subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.sender],
        headers=headers,
    )


def acknowledge(mail: InboundMail) -> None:
    """Send the acknowledgement once, after the message is kept; a mail server that fails is
    logged (the message's row id only) and the message still waits for a call taker."""
    if not mail.sender:
        return
    try:
        acknowledgement(mail).send()
    except (smtplib.SMTPException, OSError) as e:
        log.warning("mail %s: acknowledgement not sent (%s)", mail.pk, type(e).__name__)
