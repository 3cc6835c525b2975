"""Dashboards and the monthly report: the committee head's view of one community, the subdistrict's
roll-up and ranking, and the month's report as a printable page, an Excel workbook and a CSV file.

Read-only pages. Scope: a community dashboard goes through residents.selectors.get_community_for (404
outside the user's communities); workers see their own community's dashboard too."""

import json

from django.contrib.auth.decorators import login_required, permission_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from community.lib.http import id_param
from community.lib.routers import replica_reads
from residents.selectors import communities_visible_to, get_community_for, home_community_for
from stations import reports
from stations.rates import Period
from stations.selectors import dashboard as selectors

VIEW = "stations.view_servicerequest"
RANKINGS = ("response", "resolution", "satisfaction")
# The escapes of Django's json_script filter: the JSON cannot end the <script> element early.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _charts_json(charts: dict) -> dict[str, SafeString]:
    """Chart data as JSON for <script type="application/json" nonce=…> blocks. Written out like
    json_script (same escaping) because that filter cannot add the CSP nonce to the tag."""
    return {
        name: mark_safe(json.dumps(data, cls=DjangoJSONEncoder).translate(_JSON_SCRIPT_ESCAPES))
        for name, data in charts.items()
    }


def _period(request: HttpRequest, now) -> Period:
    """?period=YYYY-MM, defaulting to this month; months after this one are shown as this month."""
    current = Period.containing(now)
    period = Period.parse(request.GET.get("period")) or current
    return min(period, current)


def _with_period(url: str, period: Period, now) -> str:
    return url if period == Period.containing(now) else f"{url}?period={period.key}"


def _period_nav(period: Period, now) -> dict:
    current = Period.containing(now)
    return {
        "period": period,
        "previous_period": period.previous(),
        "next_period": period.next() if period < current else None,
        "is_current": period == current,
    }


def _community_page(request: HttpRequest, community) -> HttpResponse:
    now = timezone.now()
    period = _period(request, now)
    data = selectors.community_dashboard(request.user, community, period, now)
    context = {
        **data,
        "charts": _charts_json(data["charts"]),
        **_period_nav(period, now),
        "own_community": home_community_for(request.user) == community,
        "report_query": "" if home_community_for(request.user) == community else f"?community={community.pk}",
    }
    return render(request, "stations/dashboard.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@replica_reads  # innermost: session and permissions come from the primary
def dashboard(request: HttpRequest) -> HttpResponse:
    """The user's own community; subdistrict staff (who have none) go to the roll-up."""
    community = home_community_for(request.user)
    if community is None:
        now = timezone.now()
        return redirect(_with_period(reverse("stations:subdistrict_dashboard"), _period(request, now), now))
    return _community_page(request, community)


@login_required
@permission_required(VIEW, raise_exception=True)
@replica_reads  # innermost: session and permissions come from the primary
def community_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    return _community_page(request, get_community_for(request.user, pk))


@login_required
@permission_required(VIEW, raise_exception=True)
@replica_reads  # innermost: session and permissions come from the primary
def subdistrict_dashboard(request: HttpRequest) -> HttpResponse:
    """The same figures over all the user's communities, with a table ranking them by each rate."""
    now = timezone.now()
    period = _period(request, now)
    if home_community_for(request.user) is not None:  # a community's staff: their own dashboard
        return redirect(_with_period(reverse("stations:dashboard"), period, now))
    rank = request.GET.get("rank")
    if rank not in RANKINGS:
        rank = RANKINGS[0]
    communities = communities_visible_to(request.user).select_related("subdistrict")
    data = selectors.subdistrict_dashboard(request.user, communities, period, now, rank=rank)
    context = {
        **data,
        "charts": _charts_json(data["charts"]),
        **_period_nav(period, now),
        "rank": rank,
        "rankings": [(code, label) for code, label in selectors.rates.RATE_LABELS.items()],
    }
    return render(request, "stations/dashboard_subdistrict.html", context)


# --- The monthly report -----------------------------------------------------------------------------------


def _report_scope(request: HttpRequest) -> tuple[list, str]:
    """The communities a report covers, and its title: ?community=<pk>, else the user's own community,
    else (subdistrict staff) all their communities rolled up."""
    if request.GET.get("community", ""):
        pk = id_param(request.GET["community"])
        if pk is None:
            raise Http404
        community = get_community_for(request.user, pk)
        return [community], community.name
    community = home_community_for(request.user)
    if community is not None:
        return [community], community.name
    communities = list(communities_visible_to(request.user).select_related("subdistrict"))
    if not communities:
        raise Http404
    names = sorted({c.subdistrict.name for c in communities})
    return communities, "、".join(names)


def _report(request: HttpRequest, year: int, month: int) -> reports.Report:
    now = timezone.now()
    try:
        period = Period(year, month)
    except ValueError:
        raise Http404 from None
    if period > Period.containing(now):
        raise Http404
    communities, title = _report_scope(request)
    return reports.monthly_report(request.user, communities, period, now, title=title)


@login_required
@permission_required(VIEW, raise_exception=True)
@replica_reads  # innermost: session and permissions come from the primary
def monthly_report(request: HttpRequest, year: int, month: int) -> HttpResponse:
    report = _report(request, year, month)
    query = request.GET.urlencode()
    return render(
        request,
        "stations/report.html",
        {"report": report, "download_query": f"?{query}" if query else ""},
    )


def _filename(report: reports.Report, extension: str) -> str:
    return f"onedesk-report-{report.period.key}.{extension}"


@login_required
@permission_required(VIEW, raise_exception=True)
@replica_reads  # innermost: session and permissions come from the primary
def monthly_report_xlsx(request: HttpRequest, year: int, month: int) -> HttpResponse:
    report = _report(request, year, month)
    response = HttpResponse(reports.to_xlsx(report), content_type=reports.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "xlsx")}"'
    return response


@login_required
@permission_required(VIEW, raise_exception=True)
@replica_reads  # innermost: session and permissions come from the primary
def monthly_report_csv(request: HttpRequest, year: int, month: int) -> HttpResponse:
    report = _report(request, year, month)
    # With a byte-order mark, so Excel opens the Chinese text as UTF-8.
    response = HttpResponse(reports.to_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "csv")}"'
    return response
