"""The open data's public pages: the index with its date range, each file, and each format's
data dictionary. Open to everyone, signed in or not: nothing in them is personal."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from city311.reports import opendata
from city311.reports.forms import OpenDataRange


def _range(request: HttpRequest) -> OpenDataRange:
    return OpenDataRange(request.GET)


def _bad_range(request: HttpRequest, form: OpenDataRange) -> HttpResponse:
    context = {"formats": opendata.FORMATS.values(), "form": form, "section": "open_data"}
    return render(request, "reports/open_data.html", context, status=400)


def index(request: HttpRequest) -> HttpResponse:
    form = _range(request)
    if request.GET and not form.is_valid():
        return _bad_range(request, form)
    query = request.GET.urlencode() if request.GET else ""
    context = {
        "formats": opendata.FORMATS.values(),
        "form": form,
        "query": query,
        "section": "open_data",
    }
    return render(request, "reports/open_data.html", context)


def download(request: HttpRequest, code: str) -> HttpResponse | StreamingHttpResponse:
    if code not in opendata.FORMATS:
        raise Http404(_("There is no such open-data format."))
    form = _range(request)
    if not form.is_valid():
        return _bad_range(request, form)
    since, until = form.cleaned_data.get("since"), form.cleaned_data.get("until")
    chosen = opendata.FORMATS[code]
    response = StreamingHttpResponse(
        opendata.export(code, since, until), content_type=chosen.content_type
    )
    name = opendata.file_name(code, since, until)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # Live data: a proxy must not serve yesterday's file as today's.
    response["Cache-Control"] = "no-store"
    return response


def dictionary(request: HttpRequest, code: str) -> HttpResponse:
    if code not in opendata.FORMATS:
        raise Http404(_("There is no such open-data format."))
    chosen = opendata.FORMATS[code]
    context = {"format": chosen, "columns": chosen.columns(), "section": "open_data"}
    return render(request, "reports/open_data_dictionary.html", context)
