"""Phone numbers as residents write them, read by one set of rules everywhere.

Numbers are parsed with `phonenumbers` in the city's region (`CITY311_PHONE_REGION`), stored in
E.164 ("+12125550134"), shown in the national format ("(212) 555-0134") and read aloud digit by
digit. Every channel that takes a number in (the report form, the console, Open311, following,
the SMS webhook) goes through `normalise` or `for_texts`, so a number one of them accepts is a
number the others can reach.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType
from phonenumbers import ValidationResult as Possible

# Kinds of number a text message reaches. In the US and Canada phonenumbers cannot tell a
# mobile from a landline and says FIXED_LINE_OR_MOBILE: those are let through, because most
# of them can receive texts and refusing them would refuse most residents.
TEXTABLE = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP,
}
_KIND = {
    PhoneNumberType.FIXED_LINE: gettext_noop("a landline"),
    PhoneNumberType.TOLL_FREE: gettext_noop("a toll-free number"),
    PhoneNumberType.PREMIUM_RATE: gettext_noop("a premium-rate number"),
    PhoneNumberType.SHARED_COST: gettext_noop("a shared-cost number"),
    PhoneNumberType.PAGER: gettext_noop("a pager"),
    PhoneNumberType.UAN: gettext_noop("a company number"),
    PhoneNumberType.VOICEMAIL: gettext_noop("a voicemail number"),
}


class PhoneError(ValueError):
    """A number that cannot be used; `message` says what is wrong and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def region() -> str:
    return str(settings.CITY311_PHONE_REGION)


def example() -> str:
    """A number of the city's region as residents write it, for error messages and hints."""
    if region() == "US":
        return "212-555-0134"
    number = phonenumbers.example_number_for_type(region(), PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL) if number else "+1…"


def parse(text: str) -> PhoneNumber:
    """The number `text` names, in the city's region unless it starts with + and a country code.

    Raises PhoneError with a message for the resident when it is not a whole, real number.
    """
    fix = _("Enter the whole number with its area code, such as %(example)s.") % {
        "example": example()
    }
    try:
        number = phonenumbers.parse(text, region())
    except NumberParseException as e:
        if e.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise PhoneError(
                _("That country code is not one we know: check the digits after the +.")
            ) from None
        raise PhoneError(_("That is not a phone number.") + " " + fix) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in (Possible.TOO_SHORT, Possible.IS_POSSIBLE_LOCAL_ONLY):
        raise PhoneError(_("The phone number is missing digits.") + " " + fix)
    if possible in (Possible.TOO_LONG, Possible.INVALID_LENGTH):
        raise PhoneError(_("The phone number has too many digits.") + " " + fix)
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(_("That is not a phone number in use: check the digits.") + " " + fix)
    return number


def normalise(text: str) -> str:
    """The number in E.164, or "" when `text` is blank; PhoneError when it is not a number."""
    if not (text or "").strip():
        return ""
    return _e164(parse(text))


def can_receive_texts(number: PhoneNumber) -> bool:
    return phonenumbers.number_type(number) in TEXTABLE


def for_texts(text: str) -> str:
    """The number in E.164 when it can receive text messages, or "" when `text` is blank.

    PhoneError when it is not a number, or is one texts cannot reach (a landline, toll-free...).
    """
    if not (text or "").strip():
        return ""
    number = parse(text)
    if not can_receive_texts(number):
        kind = _KIND.get(phonenumbers.number_type(number), gettext_noop("a number"))
        raise PhoneError(
            _(
                "That is %(kind)s, which cannot receive text messages: "
                "give a mobile number, or an e-mail address instead."
            )
            % {"kind": _(kind)}
        )
    return _e164(number)


def normalise_or_blank(text: str) -> str:
    """E.164, or "" for anything that is not a number: for numbers stored before these rules."""
    try:
        return normalise(text)
    except PhoneError:
        return ""


def display(stored: str) -> str:
    """A stored number as people write it: national format at home, international abroad."""
    if not stored:
        return ""
    try:
        number = phonenumbers.parse(stored, region())
    except NumberParseException:
        return stored
    home = phonenumbers.region_code_for_number(number) == region()
    style = PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def spoken(stored: str) -> str:
    """A stored number to read aloud: digits one by one, in the groups people say them.

    "+12125550134" reads "2 1 2, 5 5 5, 0 1 3 4" at home.
    """
    groups = [" ".join(group) for group in _digit_groups(display(stored)) if group]
    return ", ".join(groups)


def _digit_groups(text: str) -> list[str]:
    groups, current = [], ""
    for char in text:
        if char.isdigit():
            current += char
        elif current:
            groups.append(current)
            current = ""
    return [*groups, current]


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
