"""Errors the request actions raise, each with a code and a message a person can act on.

A message is kept as its translatable template and parameters, and worded when it is read: a
Spanish page shows it in Spanish, Open311 and the staff pages in English (the language active
where it surfaces). The code says what kind of problem it is, for a channel that answers
differently by kind (Open311's 404 for an unknown service) and for tests.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise

Text = str | Promise


def word(template: Text, params: dict[str, Any]) -> str:
    """The template in the active language, with its parameters (themselves translated)."""
    text = str(template)
    if not params:
        return text
    return text % {k: str(v) if isinstance(v, Promise) else v for k, v in params.items()}


class RequestError(Exception):
    """An action cannot be done; the message says why and what to do instead."""

    def __init__(self, message: Text, *, code: str = "invalid", **params: Any) -> None:
        super().__init__(message)
        self.template = message
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        return word(self.template, self.params)

    def __str__(self) -> str:
        return self.message


class Problem:
    """One thing wrong with one field of a submission: worded when it is shown."""

    __slots__ = ("code", "params", "template")

    def __init__(self, code: str, template: Text, params: dict[str, Any] | None = None) -> None:
        self.code = code
        self.template = template
        self.params = params or {}

    def __str__(self) -> str:
        return word(self.template, self.params)

    def __repr__(self) -> str:
        return f"Problem({self.code!r}, {str(self)!r})"

    def __eq__(self, other: object) -> bool:
        # Compared with text (tests, templates), a problem is its wording.
        if isinstance(other, Problem):
            return (self.code, str(self)) == (other.code, str(other))
        return str(self) == other

    def __hash__(self) -> int:
        return hash((self.code, str(self.template)))

    def __contains__(self, text: str) -> bool:
        return text in str(self)


class SubmissionInvalid(RequestError):
    """A new request has problems; `errors` maps each field to everything wrong with it."""

    def __init__(self, problems: dict[str, list[Problem]]) -> None:
        super().__init__("", code="invalid")
        self.problems = problems

    @property
    def errors(self) -> dict[str, list[str]]:
        """Each field's problems, worded in the active language."""
        return {name: [str(p) for p in found] for name, found in self.problems.items()}

    @property
    def codes(self) -> dict[str, list[str]]:
        return {name: [p.code for p in found] for name, found in self.problems.items()}

    @property
    def message(self) -> str:
        return " ".join(m for messages in self.errors.values() for m in messages)


class NoSuchRequest(RequestError):
    """No request has this tracking number (or the number is mistyped)."""
