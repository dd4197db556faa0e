"""How mail reaches `mail.receive`: an IMAP mailbox read by imap-tools, or an SMTP listener
(aiosmtpd). Both hand over the message's bytes as received."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)


def fetch_mail() -> int:
    """Read the unseen messages of the city's 311 mailbox; each is marked seen once handled.

    Does nothing when CITY311_MAIL_IMAP_HOST is not set. Run by the scheduler every minute.
    """
    from imap_tools import AND, MailBox, MailBoxUnencrypted

    from city311.intake.mail import receive

    host = settings.CITY311_MAIL_IMAP_HOST
    if not host:
        return 0
    box_class = MailBox if settings.CITY311_MAIL_IMAP_SSL else MailBoxUnencrypted
    count = 0
    with box_class(host, port=settings.CITY311_MAIL_IMAP_PORT).login(
        settings.CITY311_MAIL_IMAP_USER,
        settings.CITY311_MAIL_IMAP_PASSWORD,
        initial_folder=settings.CITY311_MAIL_IMAP_FOLDER,
    ) as box:
        for message in box.fetch(AND(seen=False), mark_seen=False, bulk=50):
            receive(message.obj.as_bytes())
            if message.uid:
                box.flag(message.uid, "\\Seen", True)
            count += 1
    log.info("fetched %d messages", count)
    return count


class Handler:
    """aiosmtpd handler: accepts mail for the city's 311 addresses and hands it to `deliver`
    (mail.receive by default) off the event loop."""

    def __init__(self, deliver: Callable[[bytes], Any] | None = None) -> None:
        self.deliver = deliver or _receive

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        accepted = [a.lower() for a in settings.CITY311_MAIL_ADDRESSES]
        if accepted and address.lower() not in accepted:
            return "550 5.1.1 not a 311 address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        try:
            await asyncio.to_thread(self.deliver, bytes(content))
        except Exception as e:
            # The type only: an error's text may quote the message's sender or words.
            log.error("could not take a message: %s", type(e).__name__)
            return "451 4.3.0 try again later"
        return "250 Message accepted"


def _receive(raw: bytes) -> None:
    from city311.intake.mail import receive

    close_old_connections()
    try:
        receive(raw)
    finally:
        close_old_connections()
