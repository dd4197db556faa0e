"""E-mail through whichever Django e-mail backend the city configures (SMTP in production)."""

from __future__ import annotations

import contextlib
import smtplib
import time
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

# An SMTP server drops a connection left idle for a while (RFC 5321 suggests 5 minutes): one
# unused for longer than this is closed and opened anew rather than found dead.
IDLE_SECONDS = 60.0


class EmailTransport(Transport):
    """Sends over one SMTP connection, kept open from message to message (and across tasks)."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.last_used = 0.0

    def open(self) -> None:
        self.connection = get_connection(fail_silently=False)

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None

    def send(self, address: str, message: Message, *, key: str) -> str:
        reused = self.connection is not None
        if reused and time.monotonic() - self.last_used > IDLE_SECONDS:
            self.close()
            reused = False
        try:
            self._send(address, message, key=key)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as e:
            self.close()
            if not reused:
                raise _unreachable(e, address) from None
            # The server closed the connection we kept: say it again on a new one, once.
            try:
                self._send(address, message, key=key)
            except (smtplib.SMTPServerDisconnected, ConnectionError) as e2:
                self.close()
                raise _unreachable(e2, address) from None
        self.last_used = time.monotonic()
        return "delivered to the SMTP server"

    def _send(self, address: str, message: Message, *, key: str) -> None:
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
            # Opens the connection on the first message; later ones reuse it.
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
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            raise
        except (smtplib.SMTPException, OSError) as e:
            self.close()
            raise _unreachable(e, address) from None


def _unreachable(e: Exception, address: str) -> TemporaryFailure:
    words = scrub(f"{type(e).__name__} {e}", address)
    return TemporaryFailure(f"could not reach the SMTP server: {words}", unreachable=True)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
