"""Reporting a problem, step by step (being built: issue 6)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def start(request: HttpRequest) -> HttpResponse:
    return redirect("home")


def report_type(request: HttpRequest, service_code: str) -> HttpResponse:
    return redirect("home")
