"""E-mail through whichever Django e-mail backend the city configures (SMTP in production)."""

from __future__ import annotations

import contextlib
import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from city311.notifications.channels.base import (
    PermanentFailure,
    TemporaryFailure,
    Transport,
    scrub,
)
from city311.notifications.messages import Message


class EmailTransport(Transport):
    def __init__(self) -> None:
        self.connection: Any = None

    def open(self) -> None:
        self.connection = get_connection(fail_silently=False)

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None

    def send(self, address: str, message: Message, *, key: str) -> str:
        if self.connection is None:
            self.open()
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers={
                # The same Message-ID on every attempt of one delivery: if a message is ever sent
                # twice (a worker killed after the server took it, before it was marked sent),
                # mail systems recognise the second copy.
                "Message-ID": f"<{key}@{settings.CITY311_MAIL_DOMAIN}>",
                "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "Auto-Submitted": "auto-generated",
            },
            connection=self.connection,
        )
        email.attach_alternative(message.html, "text/html")
        try:
            # Opens the connection on the first message of a batch; later ones reuse it.
            self.connection.open()
            email.send()
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            self.close()
            words = scrub(" ".join(str(v) for v in e.recipients.values()), address)
            if any(400 <= code < 500 for code in codes):
                raise TemporaryFailure(f"the SMTP server deferred it: {words}") from None
            raise PermanentFailure(f"the SMTP server refused the address: {words}") from None
        except smtplib.SMTPResponseException as e:
            self.close()
            words = scrub(f"{e.smtp_code} {_text(e.smtp_error)}", address)
            if 400 <= e.smtp_code < 500:
                raise TemporaryFailure(f"the SMTP server deferred it: {words}") from None
            raise PermanentFailure(f"the SMTP server refused it: {words}") from None
        except (smtplib.SMTPException, OSError) as e:
            self.close()
            words = scrub(f"{type(e).__name__} {e}", address)
            raise TemporaryFailure(
                f"could not reach the SMTP server: {words}", unreachable=True
            ) from None
        return "delivered to the SMTP server"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
