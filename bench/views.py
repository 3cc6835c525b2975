"""The baseline: what a page of N bytes costs with no database work of its own — the same middleware
(sessions, authentication, CSRF, CSP), the Django template engine, and a loop of rows. Each page of the
benchmark is reported as a ratio to this page at the page's own size."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

ROW = '<li class="list-group-item">row {n}: 一口办 baseline text of a typical list row</li>\n'
MAX_BYTES = 2_000_000


def baseline(request: HttpRequest) -> HttpResponse:
    try:
        size = min(max(int(request.GET.get("bytes", "20000")), 0), MAX_BYTES)
    except ValueError:
        size = 20_000
    per_row = len(ROW.format(n=1000).encode())
    rows = range(max(size // per_row, 1))
    return render(request, "bench/baseline.html", {"rows": rows})
