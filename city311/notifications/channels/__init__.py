"""One transport per channel, behind the `Transport` base class."""

from __future__ import annotations

from city311.notifications.channels.base import PermanentFailure, TemporaryFailure, Transport
from city311.notifications.channels.email import EmailTransport
from city311.notifications.channels.sms import SmsTransport

__all__ = ["EmailTransport", "PermanentFailure", "SmsTransport", "TemporaryFailure", "Transport"]


def transport_for(channel: str) -> Transport:
    return EmailTransport() if channel == "email" else SmsTransport()
