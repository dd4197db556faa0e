"""Logging filters: what the log keeps of an ordinary refusal."""

from __future__ import annotations

import logging


class NoTracebackForClientErrors(logging.Filter):
    """A 403 or 404 is the site working as meant: one line, not a traceback.

    Django logs "Forbidden (Permission denied)" with the PermissionDenied exception attached,
    which the console prints as a full traceback. Server errors (5xx) keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
