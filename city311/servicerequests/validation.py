"""Checking a new request: every problem at once, in words a resident understands."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.dateparse import parse_datetime
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from city311.catalog import cache as catalog_cache
from city311.catalog.models import Datatype, ServiceAttribute, ServiceType
from city311.cities import profile
from city311.geo.locate import Located, LocationProblem, locate, outside_referral
from city311.lib import phones
from city311.lib.text import MAX_EMAIL, email_problem, unreadable_character
from city311.servicerequests.errors import Problem, Text
from city311.servicerequests.models import Channel

# The same on every channel; well above what FixMyStreet sends (title, detail and link).
MAX_DESCRIPTION = 20_000
MAX_STRING_ANSWER = 300
Answer = str | list[str]


@dataclass
class Submission:
    """What any channel hands to `submit_request`: raw values, checked there."""

    service_code: str = ""
    channel: str = Channel.WEB
    description: str = ""
    lat: Any = None
    long: Any = None
    address_string: str = ""
    address_id: str = ""
    # How a channel that geocoded the place itself found it (the portal's chosen candidate):
    # "interpolated", "street"... with its confidence. Without it a lat/long is a pin.
    location_match: str = ""
    location_confidence: float | None = None
    zipcode: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    language: str = "en"
    # The reporter hears about the request unless they say no (or left no e-mail or phone).
    wants_updates: bool = True
    media_url: str = ""
    # The Open311 application, source system or import file.
    application: str = ""
    external_id: str = ""
    requested_at: datetime | None = None


@dataclass
class Checked:
    """What checking a submission found: values in their stored form, and every problem.

    `service_type` and `located` are filled in as far as they could be found, even when other
    fields have problems, so a channel can offer nearby requests before the form is complete.
    """

    service_type: ServiceType | None
    located: Located | None
    answers: dict[str, Answer]
    phone: str
    problems: dict[str, list[Problem]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and self.service_type is not None

    @property
    def errors(self) -> dict[str, list[str]]:
        """Each field's problems, worded in the active language."""
        return {name: [str(p) for p in found] for name, found in self.problems.items()}


class Problems:
    """Every problem with a submission, per field: a code, and a message worded when shown."""

    def __init__(self) -> None:
        self.errors: dict[str, list[Problem]] = {}

    def add(self, name: str, message: Text, code: str = "invalid", **params: Any) -> None:
        self.errors.setdefault(name, []).append(Problem(code, message, params))


def check_submission(sub: Submission) -> Checked:
    """Check every field of a submission; nothing is written."""
    problems = Problems()
    service_type = _check_type(sub, problems)
    located = _check_location(sub, service_type, problems)
    answers = _check_answers(sub, service_type, problems) if service_type else {}
    phone = _check_contact(sub, service_type, problems)
    _check_text(sub, problems)
    if sub.channel not in Channel.values:
        problems.add(
            "channel",
            _("Unknown channel %(channel)r: use one of %(channels)s."),
            channel=sub.channel,
            channels=", ".join(Channel.values),
        )
    return Checked(service_type, located, answers, phone, problems.errors)


def _check_type(sub: Submission, problems: Problems) -> ServiceType | None:
    code = (sub.service_code or "").strip()
    if not code:
        problems.add("service_code", _("Choose what kind of problem this is."), "required")
        return None
    # From this process's catalog snapshot: the type, its questions and choices, no query.
    service_type = catalog_cache.active_type(code)
    if service_type is None:
        problems.add(
            "service_code",
            _("There is no service %(service)r. Choose one from the list of services."),
            "unknown_service",
            service=code[:60],
        )
        return None
    if service_type.is_emergency:
        problems.add(
            "service_code",
            _(
                "This is an emergency: call %(phone)s now. "
                "Emergencies are not taken as 311 requests."
            ),
            "emergency",
            phone=profile.current().emergency_phone,
        )
        return None
    return service_type


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def check_point(lat_value: Any, long_value: Any, problems: Problems) -> tuple[Any, Any]:
    """Latitude and longitude as numbers in range, both or neither; shared with the imports."""
    lat = long = None
    try:
        lat = _number(lat_value)
        if lat is not None and not -90 <= lat <= 90:
            problems.add("lat", _("Latitude must be between -90 and 90 degrees."), "range")
    except (TypeError, ValueError):
        problems.add(
            "lat",
            _("Latitude %(value)r is not a number, such as 40.7128."),
            "not_a_number",
            value=str(lat_value)[:40],
        )
    try:
        long = _number(long_value)
        if long is not None and not -180 <= long <= 180:
            problems.add("long", _("Longitude must be between -180 and 180 degrees."), "range")
    except (TypeError, ValueError):
        problems.add(
            "long",
            _("Longitude %(value)r is not a number, such as -74.0060."),
            "not_a_number",
            value=str(long_value)[:40],
        )
    if (lat is None) != (long is None) and not problems.errors.get(
        "lat" if lat is None else "long"
    ):
        missing = "long" if long is None else "lat"
        problems.add(missing, _("Give both latitude and longitude, or neither."), "required")
    return lat, long


def _check_location(
    sub: Submission, service_type: ServiceType | None, problems: Problems
) -> Located | None:
    lat, long = check_point(sub.lat, sub.long, problems)
    has_point = lat is not None and long is not None
    has_address = bool((sub.address_string or "").strip() or (sub.address_id or "").strip())
    if service_type and service_type.location_required and not (has_point or has_address):
        problems.add(
            "location",
            _(
                "Tell us where the problem is: an address, a place on the map, or latitude and "
                "longitude."
            ),
            "required",
        )
    if len(sub.address_string or "") > 255:
        problems.add(
            "address_string", _("The address is too long: use at most 255 characters."), "too_long"
        )
    if any(f in problems.errors for f in ("lat", "long", "location", "address_string")):
        return None
    try:
        located = locate(
            lat=lat,
            long=long,
            address_string=sub.address_string,
            address_id=sub.address_id,
            match=sub.location_match,
            confidence=sub.location_confidence,
        )
    except LocationProblem as e:
        problems.add(e.field, e.message, "not_found")
        return None
    if located and located.to_verify and _asks_which(sub):
        problems.add(
            "address_string",
            _(
                "We could not place “%(address)s” within about 50 m. Did you mean "
                "%(candidates)s? Send lat and long, or address_id."
            ),
            "not_placed",
            address=located.address if not located.candidates else sub.address_string[:100],
            candidates=_candidates(located),
        )
        return None
    if located and not located.in_city and service_type and service_type.location_required:
        problems.add("location", _lazy_referral(), "outside_city")
    return located


def _asks_which(sub: Submission) -> bool:
    """An Open311 app's typed address the geocoder cannot place is refused with candidates,
    unless the city accepts such requests marked "location to verify". People at the portal
    and the console are asked, or the request is marked, where they are."""
    return sub.channel == Channel.OPEN311 and profile.current().unplaced_addresses != "verify"


def _candidates(located: Located) -> Text:
    def worded() -> str:
        found = [
            f"{c.address} (address_id {c.address_id})" if c.address_id else c.address
            for c in located.candidates[:3]
        ]
        return str(_(" or ")).join(found) or located.address

    return lazy(worded, str)()


def _check_answers(
    sub: Submission, service_type: ServiceType, problems: Problems
) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    given = {k: v for k, v in (sub.answers or {}).items() if not _blank(v)}
    # Answers to questions the type does not ask are ignored: clients send extra fields.
    for attribute in service_type.attributes.all():
        if not attribute.variable:
            # Not a question: a value the client fills in itself (FixMyStreet's report id),
            # kept as sent for staff.
            sent = given.get(attribute.code)
            if isinstance(sent, str):
                answers[attribute.code] = sent[:MAX_STRING_ANSWER]
            continue
        name = f"attribute[{attribute.code}]"
        if attribute.code not in given:
            if attribute.required:
                problems.add(
                    name,
                    _("Answer the question “%(question)s”."),
                    "required",
                    question=_question(attribute),
                )
            continue
        try:
            answers[attribute.code] = _answer(attribute, given[attribute.code])
        except AnswerInvalid as e:
            problems.add(
                name,
                _("“%(question)s”: %(problem)s"),
                e.code,
                question=_question(attribute),
                problem=e.problem,
            )
    return answers


# The outside-the-city referral and a question's wording, in the language of the page that
# shows the problem, not of the moment it was found.
_lazy_referral = lazy(outside_referral, str)


def _question(attribute: ServiceAttribute) -> Text:
    return lazy(lambda: attribute.translated("description"), str)()


class AnswerInvalid(ValueError):
    def __init__(self, code: str, problem: Text, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.problem = Problem(code, problem, params)


def _blank(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_blank(v) for v in value)
    return value is None or str(value).strip() == ""


def _answer(attribute: ServiceAttribute, value: Answer) -> Answer:
    values = [str(v).strip() for v in (value if isinstance(value, list) else [value])]
    values = [v for v in values if v]
    datatype = attribute.datatype
    if datatype == Datatype.MULTIVALUELIST:
        return [_choice(attribute, v) for v in values]
    if len(values) > 1:
        raise AnswerInvalid("several", _("give one answer, not several."))
    text = values[0]
    if datatype == Datatype.SINGLEVALUELIST:
        return _choice(attribute, text)
    if datatype == Datatype.NUMBER:
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise AnswerInvalid(
                "not_a_number",
                _("%(value)r is not a number; enter digits, such as 3."),
                value=text[:40],
            )
        return text.replace(",", "")
    if datatype == Datatype.DATETIME:
        moment = parse_datetime(text)
        if moment is None:
            raise AnswerInvalid(
                "not_a_datetime",
                _("%(value)r is not a date and time; use the form 2026-11-22T14:30:00-05:00."),
                value=text[:40],
            )
        return moment.isoformat()
    found = unreadable_character(text)
    if found:
        raise AnswerInvalid(
            "bad_character",
            _("the answer contains a control character (%(character)s): remove it."),
            character=found,
        )
    limit = MAX_STRING_ANSWER if datatype == Datatype.STRING else MAX_DESCRIPTION
    if len(text) > limit:
        raise AnswerInvalid(
            "too_long",
            _("the answer is too long: use at most %(limit)s characters."),
            limit=limit,
        )
    return text


def _choice(attribute: ServiceAttribute, text: str) -> str:
    """The key of a list value, accepting the key or (forgivingly) its name."""
    choices = list(attribute.values.all())
    for value in choices:
        if text == value.key:
            return value.key
    for value in choices:
        if text.casefold() in (value.key.casefold(), value.name.casefold()):
            return value.key
    names = lazy(lambda: ", ".join(f"{v.key} ({v.translated('name')})" for v in choices), str)()
    raise AnswerInvalid(
        "not_a_choice",
        _("%(value)r is not one of the choices: %(choices)s."),
        value=text[:60],
        choices=names,
    )


def _check_contact(sub: Submission, service_type: ServiceType | None, problems: Problems) -> str:
    """The phone in E.164, after checking the contact fields.

    A reporter who wants updates and left a phone but no e-mail hears by text, so that phone
    must be able to receive texts: refused here, never silently dropped later.
    """
    email = (sub.email or "").strip()
    if len(email) > MAX_EMAIL:
        problems.add(
            "email",
            _("The e-mail address is too long: use at most %(limit)s characters."),
            "too_long",
            limit=MAX_EMAIL,
        )
    elif email and email_problem(email):
        problems.add(
            "email",
            _("%(value)r is not an e-mail address, such as name@example.com."),
            "invalid_email",
            value=email[:100],
        )
    phone = ""
    texts = bool(sub.wants_updates) and (not email or sub.wants_updates == "both")
    try:
        phone = phones.for_texts(sub.phone) if texts else phones.normalise(sub.phone)
    except phones.PhoneError as e:
        if sub.channel == Channel.OPEN311 and email and not texts:
            # An app's reporter who gave an e-mail hears by e-mail: a number the city cannot
            # read (the GeoReport spec's own example sends 111111111) is kept as sent, for
            # staff, rather than the report refused. Nobody is there to correct it.
            phone = " ".join((sub.phone or "").split())[:30]
        else:
            problems.add("phone", e.message, "invalid_phone")
    if sub.language not in dict(settings.LANGUAGES):
        problems.add(
            "language",
            _("Choose a language from: %(languages)s."),
            "invalid_language",
            languages=", ".join(code for code, _name in settings.LANGUAGES),
        )
    given = email or (sub.phone or "").strip()
    if service_type and service_type.contact_required and not given:
        problems.add(
            "contact",
            _("This service needs a way to reach you: give an e-mail or phone number."),
            "required",
        )
    for name in ("first_name", "last_name"):
        if len(getattr(sub, name) or "") > 100:
            problems.add(name, _("The name is too long: use at most 100 characters."), "too_long")
    return phone


# Every text field of a submission, checked for characters no field may hold.
_TEXT_FIELDS = (
    "service_code",
    "description",
    "address_string",
    "address_id",
    "zipcode",
    "first_name",
    "last_name",
    "email",
    "phone",
    "media_url",
    "application",
    "external_id",
)
# Fields kept as given, and the size of their columns (the others are checked elsewhere, or
# normalised before they are stored).
_LONGEST = {"address_id": 60, "external_id": 60, "application": 120}


def _check_text(sub: Submission, problems: Problems) -> None:
    for name in _TEXT_FIELDS:
        value = getattr(sub, name) or ""
        if not isinstance(value, str):
            continue
        found = unreadable_character(value)
        if found:
            problems.add(
                name,
                _("This contains a control character (%(character)s): remove it and send again."),
                "bad_character",
                character=found,
            )
        elif len(value) > _LONGEST.get(name, len(value)):
            problems.add(
                name,
                _("This is too long: use at most %(limit)s characters."),
                "too_long",
                limit=_LONGEST[name],
            )
    if len(sub.description or "") > MAX_DESCRIPTION:
        problems.add(
            "description",
            _("The description is too long: use at most %(limit)s characters (this has %(n)s)."),
            "too_long",
            limit=MAX_DESCRIPTION,
            n=len(sub.description),
        )
    if sub.media_url:
        try:
            URLValidator(schemes=["http", "https"])(sub.media_url)
        except ValidationError:
            problems.add(
                "media_url", _("The photo link must be a web address starting http(s)://.")
            )
