from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SurveyForm(forms.Form):
    fixed = forms.ChoiceField(
        label=_("Was the problem fixed?"),
        choices=[("yes", _("Yes")), ("no", _("No")), ("unsure", _("I don't know"))],
        widget=forms.RadioSelect,
    )
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with how the city handled it?"),
        choices=[("", "—")] + [(str(n), str(n)) for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("1 is very unsatisfied, 5 very satisfied."),
    )
    comment = forms.CharField(
        label=_("Anything to add?"), widget=forms.Textarea, required=False, max_length=2000
    )

    def fixed_answer(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data["fixed"])

    def satisfaction_answer(self) -> int | None:
        value = self.cleaned_data.get("satisfaction")
        return int(value) if value is not None else None
