"""The one gate in front of every staff page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.functional import Promise

from city311.accounts.roles import is_staff_member

View = TypeVar("View", bound=Callable[..., Any])


def staff_required(
    *,
    can: Callable[[Any], bool] = is_staff_member,
    message: str | Promise = "This page is for city staff.",
) -> Callable[[View], View]:
    """Only staff for whom `can(user)` holds may open the view.

    Someone not signed in is sent to sign in and brought back; someone signed in without the
    right gets a 403 page that says, in `message`, who may open it.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return cast(View, gated)

    return decorator
