"""The two-factor pages: set up an authenticator, give a code, manage recovery codes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice

from city311.accounts import twofactor
from city311.accounts.forms import CodeForm


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator, or a recovery code."""
    user: Any = request.user
    if twofactor.step_due(request) != "verify":
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = twofactor.wait_seconds(user)
        device = None if wait else twofactor.verify_code(request, form.cleaned_data["code"])
        if device is not None:
            if isinstance(device, StaticDevice):
                left = twofactor.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Make new ones in "
                    "Sign-in security if you are running out.",
                )
            return redirect(_next(request))
        form.add_error(
            "code",
            f"Too many wrong codes: wait {wait} second{pluralize(wait)}, then try again."
            if wait
            else "That code is not right. Type the 6 digits your app shows now (check that "
            "your phone's clock is right), or one of your recovery codes.",
        )
    return render(request, "accounts/verify.html", {"form": form, "next": _next(request)})


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Set up (or replace) the authenticator app: scan the QR code, confirm with a code."""
    user: Any = request.user
    if twofactor.step_due(request) == "verify":
        # Replacing an authenticator needs the current one first.
        return redirect(f"{reverse('two_factor:verify')}?next={request.path}")
    device = twofactor.pending_authenticator(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm_authenticator(request, device, form.cleaned_data["code"])
        if codes is not None:
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _next(request), "new_authenticator": True},
            )
        form.add_error(
            "code",
            "That code does not match. Type the 6 digits the app shows for city311 now; if it "
            "keeps failing, check that your phone's clock is set automatically.",
        )
    return render(
        request,
        "accounts/setup.html",
        {
            "form": form,
            "qr": twofactor.qr_svg(device),
            "secret": twofactor.secret_for_typing(device),
            "replacing": user_has_device(user),
            "next": _next(request),
        },
    )


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enrolled": user_has_device(user),
            "codes_left": twofactor.recovery_codes_left(user),
            "required": settings.CITY311_STAFF_2FA_REQUIRED,
            "sso": bool(request.session.get(twofactor.SSO_SESSION_KEY)),
        },
    )


@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    if not user_has_device(request.user):
        return redirect("two_factor:setup")
    codes = twofactor.new_recovery_codes(request.user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": ""})


@login_required
@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    if settings.CITY311_STAFF_2FA_REQUIRED:
        messages.error(request, "The city requires two-factor sign-in: replace the app instead.")
    else:
        twofactor.remove_second_factor(request.user)
        messages.success(request, "Two-factor sign-in is off for your account.")
    return redirect("two_factor:overview")


class StaffLoginView(LoginView):
    """Django's sign-in, offering the city's single sign-on first when it is set up."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if settings.CITY311_OIDC_ISSUER:
            context["sso_name"] = settings.CITY311_OIDC_PROVIDER_NAME
        return context
