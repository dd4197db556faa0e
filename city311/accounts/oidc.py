"""Single sign-on through the city's identity provider, with OpenID Connect (mozilla-django-oidc).

Set CITY311_OIDC_ISSUER, CITY311_OIDC_CLIENT_ID and CITY311_OIDC_CLIENT_SECRET, and map the
provider's groups to roles and departments with CITY311_OIDC_ROLES (accounts/rolemap.py). The
provider's endpoints and keys come from its discovery document. Each sign-in sets the person's
roles and departments to what the provider says now, so removing someone from a group there
takes their access here at their next sign-in; someone in no mapped group is refused. The
provider checks the second factor, so these sessions are not asked for a code here.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from city311.accounts.models import Membership, SignInIdentity
from city311.accounts.roles import ADMINISTRATOR
from city311.accounts.twofactor import SSO_SESSION_KEY

log = logging.getLogger(__name__)

_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_RELOAD_SECONDS = 3600
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}


def enabled() -> bool:
    return bool(settings.CITY311_OIDC_ISSUER)


def provider() -> dict[str, Any]:
    """The provider's discovery document, read once an hour per process."""
    issuer = settings.CITY311_OIDC_ISSUER.rstrip("/")
    cached = _discovery.get(issuer)
    if cached and time.monotonic() - cached[0] < _RELOAD_SECONDS:
        return cached[1]
    response = requests.get(
        f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT
    )
    response.raise_for_status()
    document = response.json()
    if document.get("issuer", "").rstrip("/") != issuer:
        raise SuspiciousOperation(
            f"The provider at {issuer} says its issuer is {document.get('issuer')!r}."
        )
    _discovery[issuer] = (time.monotonic(), document)
    return document


def city_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, with the endpoints from the provider's discovery."""
    if attr in _DISCOVERED:
        return provider()[_DISCOVERED[attr]]
    if attr == "OIDC_RP_CLIENT_ID":
        return settings.CITY311_OIDC_CLIENT_ID
    if attr == "OIDC_RP_CLIENT_SECRET":
        return settings.CITY311_OIDC_CLIENT_SECRET
    return import_from_settings(attr, *args)


class CityIdentityBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(city_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Nothing read here: Django builds every backend for each password sign-in too, and
        # that must not wait on the provider.
        self.UserModel = User

    # Read when a sign-in through the provider needs them.
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: city_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: city_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: city_setting("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.CITY311_OIDC_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.CITY311_OIDC_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.OIDC_RP_SIGN_ALGO)
    OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if not enabled() or request is None:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> Any:
        """The library checks the signature and nonce; the issuer, audience and expiry are
        checked here too (OpenID Connect Core 3.1.3.7)."""
        claims = super().verify_token(token, **kwargs)
        if "nonce" not in kwargs:
            return claims  # a signed userinfo answer, not an ID token
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        problems = [
            "issuer" * (claims.get("iss", "").rstrip("/") != provider()["issuer"].rstrip("/")),
            "audience" * (settings.CITY311_OIDC_CLIENT_ID not in audiences),
            "expiry" * (not isinstance(claims.get("exp"), int | float)),
        ]
        if any(problems):
            raise SuspiciousOperation(f"ID token refused: wrong {' '.join(filter(None, problems))}")
        self._id_claims = claims
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: Any) -> Any:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about someone else.")
        claims = {**userinfo, **payload}
        grants = _grants(claims)
        identity = SignInIdentity.objects.filter(
            issuer=payload["iss"], subject=payload["sub"]
        ).select_related("user")
        user = identity[0].user if identity else None
        if not grants:
            if user is not None:
                _apply(user, claims, [])
            messages.error(
                self.request,
                "Your city account is in no group that may use city311. Ask your "
                "administrator to add you to one.",
            )
            return None
        if user is None:
            user = _new_user(claims)
            SignInIdentity.objects.create(user=user, issuer=payload["iss"], subject=payload["sub"])
        _apply(user, claims, grants)
        return user


def _grants(claims: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    groups = claims.get(settings.CITY311_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    mapped = settings.CITY311_OIDC_ROLES
    return [(g.role, g.departments) for group in groups for g in mapped.get(str(group), [])]


def _new_user(claims: dict[str, Any]) -> User:
    base = (claims.get("preferred_username") or claims.get("email", "").split("@")[0] or "staff")[
        :140
    ]
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    user = User(username=username)
    user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def _apply(user: User, claims: dict[str, Any], grants: list[tuple[str, tuple[str, ...]]]) -> None:
    """Make the person's roles and departments what the provider says now."""
    # The catalog's Department, reached through the membership: accounts imports no domain app.
    department_model: Any = Membership._meta.get_field("department").related_model
    roles = {role for role, _ in grants}
    slugs = {slug for _, departments in grants for slug in departments}
    departments = department_model.objects.filter(slug__in=slugs)
    missing = slugs - {d.slug for d in departments}
    if missing:
        log.warning("CITY311_OIDC_ROLES names departments that do not exist: %s", sorted(missing))
    user.first_name = str(claims.get("given_name", user.first_name))[:150]
    user.last_name = str(claims.get("family_name", user.last_name))[:150]
    user.email = str(claims.get("email", user.email))[:254]
    user.is_staff = ADMINISTRATOR in roles
    user.save()
    user.groups.set(Group.objects.filter(name__in=roles))
    Membership.objects.filter(user=user).exclude(department__in=departments).delete()
    for department in departments:
        Membership.objects.get_or_create(user=user, department=department)


class _OnlyWhenEnabled:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not enabled():
            raise Http404(_("Single sign-on is not set up."))
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except requests.RequestException as e:
            log.warning("The identity provider did not answer: %s", e)
            return render(request, "accounts/sso_unavailable.html", status=503)


class SignInView(_OnlyWhenEnabled, OIDCAuthenticationRequestView):
    get_settings = staticmethod(city_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.CITY311_OIDC_CLIENT_ID

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:
        return str(city_setting("OIDC_OP_AUTHORIZATION_ENDPOINT"))


class CallbackView(_OnlyWhenEnabled, OIDCAuthenticationCallbackView):
    get_settings = staticmethod(city_setting)

    @property
    def failure_url(self) -> str:
        return "/accounts/login/"

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except SuspiciousOperation as e:
            # A forged or misdirected answer, or a replayed one: logged, and the person told.
            log.warning("Single sign-on refused: %s", e)
            messages.error(
                request,
                "Your sign-in through the city's account could not be checked. Try again; "
                "if it keeps failing, tell your administrator.",
            )
            return self.login_failure()

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        self.request.session[SSO_SESSION_KEY] = True
        return response
