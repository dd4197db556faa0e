"""What every channel's transport does, and how it says a send failed."""

from __future__ import annotations

from abc import ABC, abstractmethod

from city311.lib import outbox
from city311.notifications.messages import Message


class TemporaryFailure(outbox.TryLater):
    """Try again later: the server was busy or unreachable (SMTP 4xx, connection refused).

    `unreachable` says the server itself could not be reached, so the rest of a batch on the
    same channel would only wait out the same timeout.
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message, down=unreachable)
        self.unreachable = unreachable


class PermanentFailure(outbox.GiveUp):
    """Trying again cannot help: the address or number is refused for good."""


class Transport(ABC):
    """Sends one message to one address.

    `open`/`close` bracket a batch, so a transport can keep one connection for many messages.
    `send` returns what the server said, in words staff can read ("delivered to the SMTP
    server"), or raises TemporaryFailure or PermanentFailure. Their messages must not contain the
    address: they are stored and logged.
    """

    def open(self) -> None:  # noqa: B027 - optional hook: most transports need no batch setup
        """Prepare for a batch of sends (e.g. open one SMTP connection)."""

    def close(self) -> None:  # noqa: B027 - optional hook, the pair of open()
        """End a batch of sends."""

    @abstractmethod
    def send(self, address: str, message: Message, *, key: str) -> str:
        """Send `message` to `address`; `key` identifies the delivery across retries."""


def scrub(text: str, address: str) -> str:
    """Remove the recipient's address from a server's words before they are stored or logged."""
    text = str(text)
    if address:
        text = text.replace(address, "<recipient>")
        digits = address.lstrip("+")
        if digits:
            text = text.replace(digits, "<recipient>")
    return text[:500]
