"""A request's public page and what a resident does there: follow it, say it is not fixed.

Both forms are open to anyone with the tracking number, so each has a honeypot field and a
rate limit per address; neither shows or keeps anything that identifies the person.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from city311.cities import profile
from city311.lib import phones
from city311.notifications.actions import follow_request
from city311.portal import limits
from city311.portal.queries import latest_word, photos, public_history, status_words
from city311.servicerequests.actions import reopen_as_resident
from city311.servicerequests.attachments import MediaInvalid, clean_photo
from city311.servicerequests.errors import NoSuchRequest, RequestError
from city311.servicerequests.expected import expected_words, thin_words
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.queries import get_by_tracking_number


class HoneypotForm(forms.Form):
    # Hidden from people (CSS and aria-hidden); bots that fill every field fill this one.
    website = forms.CharField(required=False, max_length=200)

    def is_bot(self) -> bool:
        return bool(self.data.get("website", "").strip())


class FollowForm(HoneypotForm):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        required=False,
        max_length=254,
        error_messages={"invalid": gettext_lazy("Enter an e-mail address like name@example.com.")},
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone number, for text messages"), required=False, max_length=30
    )

    def clean_phone(self) -> str:
        try:
            return phones.for_texts(self.cleaned_data.get("phone", ""))
        except phones.PhoneError as e:
            raise forms.ValidationError(e.message) from None

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        if not self.errors and not (data.get("email") or data.get("phone")):
            self.add_error("email", _("Enter an e-mail address or a phone number, or both."))
        return data


class ReopenForm(HoneypotForm):
    comment = forms.CharField(
        label=gettext_lazy("What is still wrong?"),
        max_length=2000,
        widget=forms.Textarea,
        error_messages={"required": gettext_lazy("Say what is still wrong.")},
    )
    photo = forms.FileField(label=gettext_lazy("A photo (optional)"), required=False)

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo:
            try:
                # Decoded now, so a file that is not the image it claims is refused here, with
                # the reason (reopen_as_resident keeps only the re-encoded pixels).
                clean_photo(photo)
            except MediaInvalid as e:
                raise forms.ValidationError(e.message) from None
        return photo


# Rate limits


def _too_many(request: HttpRequest, sr: ServiceRequest, limited: limits.Limited) -> HttpResponse:
    alert = _(
        "Too many attempts from your connection. Try again after %(time)s, or call %(phone)s."
    ) % {
        "time": date_format(timezone.localtime(limited.retry_at), "TIME_FORMAT"),
        "phone": profile.current().phone,
    }
    response = render_page(request, sr, alert=alert, status=429)
    response["Retry-After"] = str(limited.retry_after_s)
    return response


# The page


def render_page(
    request: HttpRequest,
    sr: ServiceRequest,
    *,
    follow_form: FollowForm | None = None,
    reopen_form: ReopenForm | None = None,
    alert: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "sr": sr,
        "service_name": sr.service_type.translated("service_name"),
        "status_words": status_words(sr),
        "status_notes": latest_word(sr),
        "events": public_history(sr),
        "photos": photos(sr),
        "department": sr.department.translated("name") if sr.department else "",
        "parent": sr.duplicate_of,
        "can_reopen": sr.can_reopen(),
        "reopen_days": settings.CITY311_REOPEN_DAYS,
        "follow_form": follow_form or FollowForm(),
        "reopen_form": reopen_form or ReopenForm(),
        "alert": alert,
        "tiles": getattr(settings, "CITY311_MAP_TILES", ""),
        "section": "track",
        "expected": expected_words(sr),
        "expected_thin": thin_words(sr),
    }
    return render(request, "portal/request.html", context, status=status)


def _request_or_none(tracking_number: str) -> ServiceRequest | None:
    try:
        return get_by_tracking_number(tracking_number)
    except NoSuchRequest:
        return None


def _refused(
    request: HttpRequest,
    sr: ServiceRequest,
    form: HoneypotForm,
    scope: str,
    most: int,
    thanks: str,
) -> HttpResponse | None:
    """A bot is thanked as if it worked, so it learns nothing; a connection over its hourly
    limit is told when to try again. None when the form may go on."""
    if form.is_bot():
        messages.success(request, thanks)
        return redirect("portal:request", tracking_number=sr.tracking_number)
    limited = limits.count(scope, limits.client_address(request), most)
    if limited is not None:
        return _too_many(request, sr, limited)
    return None


@require_POST
def follow(request: HttpRequest, tracking_number: str) -> HttpResponse:
    sr = _request_or_none(tracking_number)
    if sr is None:
        return redirect("portal:track")
    form = FollowForm(request.POST)
    thanks = _("Check your messages: we sent you a link to confirm.")
    refused = _refused(request, sr, form, "follow", settings.CITY311_PORTAL_FOLLOWS_PER_IP, thanks)
    if refused is not None:
        return refused
    if not form.is_valid():
        return render_page(request, sr, follow_form=form, status=400)
    if sr.is_closed:
        return render_page(request, sr, alert=_("This request is closed: there will be no news."))
    try:
        follow_request(
            sr,
            email=form.cleaned_data["email"],
            phone=form.cleaned_data["phone"],
            language=get_language() or "en",
            # The form offers "an e-mail address, a mobile number, or both": both means both.
            both=bool(form.cleaned_data["email"] and form.cleaned_data["phone"]),
        )
    except RequestError:
        form.add_error(None, _("We could not sign you up. Check the address and try again."))
        return render_page(request, sr, follow_form=form, status=400)
    messages.success(request, _("Check your messages: we sent you a link to confirm."))
    return redirect("portal:request", tracking_number=sr.tracking_number)


@require_POST
def reopen(request: HttpRequest, tracking_number: str) -> HttpResponse:
    sr = _request_or_none(tracking_number)
    if sr is None:
        return redirect("portal:track")
    form = ReopenForm(request.POST, request.FILES)
    thanks = _("Thank you. We reopened the request and told the team.")
    refused = _refused(request, sr, form, "reopen", settings.CITY311_PORTAL_REOPENS_PER_IP, thanks)
    if refused is not None:
        return refused
    if not form.is_valid():
        return render_page(request, sr, reopen_form=form, status=400)
    try:
        reopen_as_resident(
            sr, comment=form.cleaned_data["comment"], photo=form.cleaned_data["photo"]
        )
    except RequestError:
        return render_page(
            request, sr, alert=_("This request can no longer be reopened online."), status=409
        )
    messages.success(request, _("Thank you. We reopened the request and told the team."))
    return redirect("portal:request", tracking_number=sr.tracking_number)
