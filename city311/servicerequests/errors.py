"""Errors the request actions raise, each with a message a person can act on."""

from __future__ import annotations


class RequestError(Exception):
    """An action cannot be done; the message says why and what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SubmissionInvalid(RequestError):
    """A new request has problems; `errors` maps each field to everything wrong with it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        summary = " ".join(m for messages in errors.values() for m in messages)
        super().__init__(summary)


class NoSuchRequest(RequestError):
    """No request has this tracking number (or the number is mistyped)."""
