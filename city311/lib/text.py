"""Text people type: one set of checks for every channel and both databases.

SQLite stores whatever it is given; PostgreSQL refuses a NUL character in any text and a
string longer than its column. So a field is checked here, the same way whatever the database:
`unreadable_character` finds characters no field may hold, `email_problem` checks an e-mail
address (including its length, which Django's validator leaves to the column).

`redact` takes phone numbers and e-mail addresses out of what a resident wrote, for everything
public (Open311, public pages, exports): residents type them into descriptions and comments.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# RFC 5321's limit on an address in a mail path, and the size of every e-mail column.
MAX_EMAIL = 254
# NUL, which PostgreSQL cannot store in any text. Other control characters are kept as sent
# (both databases store them; the XML answers leave them out).
_CONTROL = re.compile("\x00")
_email = EmailValidator()
# A phone number has digits (any script's: libphonenumber reads them all); text without any
# holds none, and the matcher need not look.
_DIGIT = re.compile(r"\d")
# An e-mail address inside prose: loose on purpose (a redaction that misses is the harm).
_EMAIL_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
PHONE_REMOVED = "[phone removed]"
EMAIL_REMOVED = "[e-mail removed]"


def unreadable_character(text: str) -> str | None:
    """The first character in `text` that no field may hold, as U+XXXX, or None."""
    found = _CONTROL.search(text or "")
    return f"U+{ord(found.group()):04X}" if found else None


def email_problem(address: str) -> Promise | None:
    """What is wrong with an e-mail address (already stripped), or None when it is usable."""
    if len(address) > MAX_EMAIL:
        return _("The e-mail address is too long: use at most 254 characters.")
    try:
        _email(address)
    except ValidationError:
        return _("That is not an e-mail address, such as name@example.com.")
    return None


def redact(text: str, region: str) -> str:
    """`text` with e-mail addresses and phone numbers replaced by placeholders.

    Phone numbers are found by libphonenumber's matcher (`phonenumbers.PhoneNumberMatcher`) in
    the city's `region`, at its POSSIBLE leniency: a number of a plausible length for the
    region, valid or not ("718-555-0199", "+44 20 7946 0958", "555 0100"), but not a house
    number, a date or a time.
    """
    if not text:
        return text
    if "@" in text:
        text = _EMAIL_IN_TEXT.sub(EMAIL_REMOVED, text)
    if not _DIGIT.search(text):
        return text
    spans = [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.POSSIBLE)
    ]
    for start, end in reversed(spans):
        text = text[:start] + PHONE_REMOVED + text[end:]
    return text
