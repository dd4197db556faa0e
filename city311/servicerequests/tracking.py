"""Tracking numbers: ten digits read over the phone as 123-4567-890, the last a check digit.

How the digits are grouped is the city's (its pack's `tracking_number.grouping`); residents may
type any separators, and a number is stored and shown in the city's grouping.

The check digit is Damm's: it catches every single mistyped digit and every swap of two
neighbouring digits, so a caller's slip is answered "check the number", never with someone
else's request.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence

from django.utils.translation import gettext as _

from city311.cities import profile

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
DIGITS = 10
# Separators and decoration people type or say: "123 4567 890", "#123-4567-890", "123.4567.890".
_NOISE = re.compile(r"[\s\-.#/]+")


class InvalidTrackingNumber(ValueError):
    """The text is not a well-formed tracking number."""


def check_digit(payload: str) -> str:
    interim = 0
    for char in payload:
        interim = _DAMM[interim][int(char)]
    return str(interim)


def is_valid(digits: str) -> bool:
    return check_digit(digits) == "0"


def display(digits: str, grouping: Sequence[int] | None = None) -> str:
    """The digits in the city's grouping: "123-4567-890"."""
    groups, at = [], 0
    for size in grouping or profile.current().grouping:
        groups.append(digits[at : at + size])
        at += size
    return "-".join(groups)


def example() -> str:
    return profile.current().tracking_example


def new_tracking_number() -> str:
    """A fresh random tracking number in display form. The caller ensures it is unused."""
    return _draw(profile.current().grouping)


def new_tracking_numbers(count: int) -> list[str]:
    """`count` fresh random tracking numbers (a bulk load's), perhaps some the same."""
    grouping = profile.current().grouping
    return [_draw(grouping) for _ in range(count)]


def _draw(grouping: Sequence[int]) -> str:
    # A leading zero is easy to drop when read aloud: the first digit is 1 to 9.
    low = 10 ** (DIGITS - 2)
    payload = str(low + secrets.randbelow(9 * low))
    return display(payload + check_digit(payload), grouping)


def normalise(text: str) -> str:
    """The display form of a typed tracking number; InvalidTrackingNumber says what is wrong."""
    typed = _NOISE.sub("", text or "")
    if not typed:
        raise InvalidTrackingNumber(
            _("Enter the tracking number, for example %(example)s.") % {"example": example()}
        )
    # Any script's decimal digits (fullwidth, Arabic-Indic) read as 0-9; a superscript "²" or a
    # circled "①" is a digit to str.isdigit() but no decimal digit, so it is refused.
    digits = "".join(str(unicodedata.decimal(c, "")) if c.isdecimal() else c for c in typed)
    if not (digits.isascii() and digits.isdecimal()):
        raise InvalidTrackingNumber(
            _("A tracking number has only digits, for example %(example)s. Check the number.")
            % {"example": example()}
        )
    if len(digits) != DIGITS:
        raise InvalidTrackingNumber(
            _("A tracking number has %(expected)d digits; this has %(got)d. Check the number.")
            % {"expected": DIGITS, "got": len(digits)}
        )
    if not is_valid(digits):
        raise InvalidTrackingNumber(
            _("There is no request with this number: a digit may be wrong. Check the number.")
        )
    return display(digits)
