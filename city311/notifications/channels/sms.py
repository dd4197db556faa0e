"""SMS through a provider: Twilio in production, files or the console for local use.

CITY311_SMS_PROVIDER picks one: "file" (the default: each message written under
DATA_DIR/sms, nothing leaves the machine), "console" (printed, number masked) or "twilio".
"""

from __future__ import annotations

import sys
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from city311.notifications.channels.base import (
    PermanentFailure,
    TemporaryFailure,
    Transport,
    scrub,
)
from city311.notifications.messages import Message


class SmsProvider(ABC):
    """Sends one text to one E.164 number; returns the provider's words or raises a failure."""

    @abstractmethod
    def send_text(self, number: str, text: str, *, key: str) -> str:
        """Send one text; return the provider's words."""


class FileProvider(SmsProvider):
    def send_text(self, number: str, text: str, *, key: str) -> str:
        folder = Path(settings.CITY311_SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = folder / f"{stamp}-{key}-{uuid.uuid4().hex[:6]}.txt"
        path.write_text(f"To: {number}\nKey: {key}\n\n{text}\n")
        return "written to a file (local SMS)"


class ConsoleProvider(SmsProvider):
    def send_text(self, number: str, text: str, *, key: str) -> str:
        # The number is personal data and the console is a log: show only its last digits.
        sys.stdout.write(f"SMS {key} to ...{number[-2:]}: {text}\n")
        sys.stdout.flush()
        return "printed to the console (local SMS)"


# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
_TWILIO_PERMANENT = {
    21211: "invalid number",
    21214: "the number cannot receive SMS",
    21408: "SMS to that region is not enabled",
    21610: "the number replied STOP to the city's SMS",
    21612: "the number cannot be reached from the city's number",
    21614: "the number is not a mobile number",
}


class TwilioProvider(SmsProvider):
    def __init__(self, client: Any = None) -> None:
        self.client = client

    def _client(self) -> Any:
        if self.client is None:
            from twilio.rest import Client

            self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
        return self.client

    def send_text(self, number: str, text: str, *, key: str) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        sender: dict[str, str] = (
            {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
            if settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.TWILIO_FROM_NUMBER}
        )
        try:
            sent = self._client().messages.create(to=number, body=text, **sender)
        except TwilioRestException as e:
            if e.code in _TWILIO_PERMANENT:
                raise PermanentFailure(_TWILIO_PERMANENT[e.code]) from None
            words = scrub(f"Twilio error {e.code} (HTTP {e.status}): {e.msg}", number)
            if e.status == 429 or e.status >= 500:
                raise TemporaryFailure(words) from None
            raise PermanentFailure(words) from None
        except (TwilioException, OSError) as e:
            raise TemporaryFailure(
                scrub(f"could not reach Twilio: {type(e).__name__} {e}", number), unreachable=True
            ) from None
        return f"accepted by Twilio ({sent.sid})"


def provider() -> SmsProvider:
    name = settings.CITY311_SMS_PROVIDER
    if name == "twilio":
        return TwilioProvider()
    if name == "console":
        return ConsoleProvider()
    return FileProvider()


class SmsTransport(Transport):
    def __init__(self, sms_provider: SmsProvider | None = None) -> None:
        self.provider = sms_provider or provider()

    def send(self, address: str, message: Message, *, key: str) -> str:
        if not address.startswith("+"):
            raise PermanentFailure("invalid number")
        return self.provider.send_text(address, message.sms, key=key)
