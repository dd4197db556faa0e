"""Reading one e-mail: who sent it, what it answers, what it says without the quoted part, and
whether a person wrote it at all.

Parsing is the standard library's (`email` with policy.default); quoted text is cut by
mail-parser-reply (English and Spanish headers such as "On … wrote:" and Outlook's
"From: … Sent:" blocks) and then by the `>` lines it leaves. Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from mailparser_reply import EmailReplyParser

# Headers by which mail systems say "no person wrote this" (RFC 3834 and the common practice of
# Exchange, Gmail, Postfix, Exim and list servers).
_AUTO_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_NULL_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.I)
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?reply|out of (the )?office|respuesta autom[aá]tica|"
    r"undeliver(able|ed)|delivery status notification|mail delivery failed|"
    r"returned mail|fuera de la oficina)\b",
    re.I,
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_QUOTED_HEADER = re.compile(
    r"^(On .{0,200} wrote:|El .{0,200} escribió:|-{2,} ?Original Message ?-{2,}|"
    r"-{2,} ?Forwarded message ?-{2,}|-{2,} ?Mensaje original ?-{2,}|"
    r"(From|De): .*|Sent from my .*|Enviado desde mi .*|Get Outlook for .*)\s*$",
    re.I,
)
_REPLY_PARSER = EmailReplyParser(languages=["en", "es"])


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    sender: str
    sender_name: str
    recipients: list[str]
    subject: str
    text: str
    # Set when no person wrote it: why (a header name and value), for the log and the page.
    automatic: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def thread_ids(self) -> list[str]:
        """Every earlier message this one answers, nearest first."""
        return self.in_reply_to + [
            m for m in reversed(self.references) if m not in self.in_reply_to
        ]


def parse(raw: bytes) -> ParsedMail:
    # NUL bytes have no place in mail text, and PostgreSQL's text columns refuse them.
    msg = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\x00", b""))
    assert isinstance(msg, EmailMessage)
    name, sender = parseaddr(str(msg.get("From", "")))
    recipients = [a for _n, a in getaddresses([str(v) for v in msg.get_all("To", []) or []])]
    recipients += [a for _n, a in getaddresses([str(v) for v in msg.get_all("Cc", []) or []])]
    headers = {k.lower(): str(v) for k, v in msg.items()}
    parsed = ParsedMail(
        message_id=_ids(headers.get("message-id", ""))[:1][0]
        if _ids(headers.get("message-id", ""))
        else "",
        in_reply_to=_ids(headers.get("in-reply-to", "")),
        references=_ids(headers.get("references", "")),
        sender=sender.strip().lower(),
        sender_name=name.strip(),
        recipients=[r.lower() for r in recipients if r],
        subject=" ".join(str(msg.get("Subject", "")).split())[:255],
        text=_body(msg).replace("\x00", ""),
        headers=headers,
    )
    parsed.automatic = automatic(msg, parsed)
    parsed.attachments = _attachments(msg)
    return parsed


def _ids(value: str) -> list[str]:
    return [m.lower() for m in _MESSAGE_ID.findall(value)]


def automatic(msg: EmailMessage, parsed: ParsedMail) -> str:
    """Why this message was sent by a machine (auto-reply, bounce, list), or "" for a person."""
    h = parsed.headers
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return "Auto-Submitted"
    if h.get("precedence", "").strip().lower() in _AUTO_PRECEDENCE:
        return "Precedence"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-response-suppress"):
        if name in h:
            return name.title()
    if "list-id" in h or "list-unsubscribe" in h or "x-loop" in h:
        return "List"
    if msg.get_content_type() == "multipart/report" or any(
        part.get_content_type() in {"message/delivery-status", "message/disposition-notification"}
        for part in msg.walk()
    ):
        return "Delivery report"
    if "return-path" in h and h["return-path"].strip() in {"<>", ""}:
        return "Return-Path"
    if not parsed.sender or _NULL_SENDERS.match(parsed.sender):
        return "Sender"
    if h.get("x-ms-exchange-generated-message-source") or h.get("x-failed-recipients"):
        return "Exchange"
    if _AUTO_SUBJECT.match(parsed.subject):
        return "Subject"
    return ""


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_type() == "text/html":
        content = _html_text(content)
    return content.replace("\r\n", "\n")


def _html_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style|blockquote)\b.*?</\1>", "", html)
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", html)
    text = re.sub(r"<[^>]+>", "", html)
    from html import unescape

    return unescape(text)


def _attachments(msg: EmailMessage) -> list[Attachment]:
    found = []
    for part in msg.iter_attachments():
        if not isinstance(part, EmailMessage) or part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            found.append(
                Attachment(
                    filename=(part.get_filename() or "attachment")[:200],
                    content_type=part.get_content_type(),
                    data=data,
                )
            )
    return found


def strip_quoted(text: str) -> str:
    """The words the sender wrote this time: quoted replies and forwarded blocks cut off."""
    try:
        reply = _REPLY_PARSER.parse_reply(text=text) or ""
    except Exception:
        reply = text
    lines = []
    for line in reply.splitlines():
        if line.lstrip().startswith(">") or _QUOTED_HEADER.match(line.strip()):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def sender_address(value: str) -> str:
    return parseaddr(value)[1].lower()
