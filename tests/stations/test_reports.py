"""The monthly report: its cells equal the dashboard's figures (xlsx, CSV and the printable page), a
past month's report does not change when its requests are worked on later, scoping, and a constant
number of queries."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from stations import rates
from stations.choices import RatingSource, Satisfaction, Status, WorkerType
from stations.rates import Period
from stations.services.requests import (
    service_request_assign,
    service_request_rate,
    service_request_transition,
)
from tests import factories
from tests.stations.test_dashboard import build_month, build_spaces, bulk_requests, count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(community_a, building_a, worker_a, head_a, resident_a):
    built = build_month(community_a, building_a, worker_a, head_a)
    build_spaces(community_a, built.period, head_a, resident_a)
    return built


def zh(text) -> str:
    """The Simplified Chinese text of a source string or lazy label, as the report writes it."""
    with translation.override("zh-hans"):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def url(name: str, period: Period) -> str:
    return reverse(name, args=[period.year, period.month])


def workbook_rows(content: bytes) -> dict[str, list[list]]:
    """Every sheet's rows as lists of cell values (trailing empty cells dropped)."""
    book = load_workbook(io.BytesIO(content))
    result = {}
    for ws in book.worksheets:
        rows = []
        for row in ws.iter_rows(values_only=True):
            values = list(row)
            while values and values[-1] is None:
                values.pop()
            rows.append(values)
        result[ws.title] = rows
    return result


def html_report(client, period: Period):
    response = client.get(url("stations:monthly_report", period))
    assert response.status_code == 200
    return response.context["report"]


# --- Report cells equal dashboard figures ----------------------------------------------------------------


def test_report_cells_equal_dashboard_figures(as_user, head_a, month):
    client = as_user(head_a)
    dashboard = client.get(reverse("stations:dashboard"), {"period": month.period.key}).context
    report = html_report(client, month.period)

    summary = {row[0]: row[1:] for row in report.sheet("summary").rows}
    for row in dashboard["rate_rows"]:
        current = row["current"]
        assert summary[zh(row["label"])] == [current.num, current.den, current.percent]
    assert summary[zh(rates.RATE_LABELS["response"])] == [6, 8, 75.0]
    assert summary[zh("Received")][0] == dashboard["figures"].received == 10
    share = dashboard["figures"].proactive_share
    assert summary[zh("Found on visits or proactively (未诉先办)")] == [share.num, share.den, share.percent]

    categories = {(row[1], row[0]): row for row in report.sheet("categories").rows}
    for figures in dashboard["categories"]:
        row = categories[figures.parent, figures.name]
        assert row[2] == figures.received
        assert row[3:] == [
            figures.response.num,
            figures.response.den,
            figures.response.percent,
            figures.resolution.num,
            figures.resolution.den,
            figures.resolution.percent,
            figures.satisfaction.num,
            figures.satisfaction.den,
            figures.satisfaction.percent,
        ]

    lines = {row[0]: row for row in report.sheet("lines").rows}
    for _code, label, figures in dashboard["tables"].by_line:
        assert lines[zh(label)][1:5] == [
            figures.received,
            figures.response.num,
            figures.response.den,
            figures.response.percent,
        ]

    workers = {row[0]: row for row in report.sheet("workers").rows}
    for row in dashboard["workers"]:
        cells = workers[row["worker"].display_name]
        assert cells[3:5] == [row["resolved"], row["median_hours"]]
    # By the worker each request had at the month's end (columns: name, type, assigned, resolved,
    # median, open at the end, overdue at the end). Liaison: in_time, late, unaccepted, reopened,
    # reanswered_later, crossing; open then: late, unaccepted, reanswered_later, crossing and the
    # previous month's request; overdue: all but crossing.
    liaison = workers[month.workers["liaison"].display_name]
    assert liaison[1:3] == [zh(WorkerType.LIAISON.label), 6]
    assert liaison[5:7] == [5, 4]
    project = workers[month.workers["project"].display_name]
    assert project[2] == 3 and project[5:7] == [1, 1]  # cancelled_later was still open (cancelled later)
    assert workers[zh("Unassigned (shared queue)")][5] == 1  # not_due
    assert summary[zh("Open at the end: new")][0] == 3  # unaccepted, crossing, not_due
    assert summary[zh("Open at the end: accepted")][0] == 2  # cancelled_later, previous_month
    assert summary[zh("Open at the end: in progress")][0] == 2  # late, reanswered_later
    assert summary[zh("Waiting for the follow-up (回访) at the end")][0] == 1  # answered_later
    assert summary[zh("Overdue at the end")][0] == 5

    spaces = report.sheet("spaces").rows
    (hall,) = dashboard["spaces"]["rows"]
    assert spaces[0][:6] == [
        hall["name"],
        hall["area_m2"],
        hall["month_open_hours"],
        hall["month_booked_hours"],
        hall["month_percent"],
        hall["present"],
    ]
    assert spaces[-2][1] == 75 and spaces[-1][1] == 435


def test_xlsx_and_csv_hold_the_same_cells_as_the_page(as_user, head_a, month):
    client = as_user(head_a)
    report = html_report(client, month.period)
    response = client.get(url("stations:monthly_report_xlsx", month.period))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f'filename="onedesk-report-{month.period.key}.xlsx"' in response["Content-Disposition"]
    sheets = workbook_rows(response.content)
    assert list(sheets) == [sheet.title for sheet in report.sheets]
    first = sheets[report.sheets[0].title]
    assert first[0] == [zh("OneDesk monthly report"), month.community.name]
    assert first[1] == [zh("Month"), month.period.key]
    for index, sheet in enumerate(report.sheets):
        rows = sheets[sheet.title][4:] if index == 0 else sheets[sheet.title]
        assert rows[0] == sheet.headers
        expected = []
        for row in sheet.rows:
            values = [None if v == "" else v for v in row]
            while values and values[-1] is None:
                values.pop()
            expected.append(values)
        assert rows[1:] == expected, sheet.key

    response = client.get(url("stations:monthly_report_csv", month.period))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert [zh(rates.RATE_LABELS["response"]), "6", "8", "75.0"] in table
    assert [zh(rates.RATE_LABELS["satisfaction"]), "3", "5", "60.0"] in table
    for sheet in report.sheets:
        assert [sheet.title] in table


def test_printable_page_shows_every_table(as_user, head_a, month):
    response = as_user(head_a).get(url("stations:monthly_report", month.period))
    html = response.content.decode()
    for key in ("summary", "categories", "lines", "buildings", "workers", "spaces"):
        assert f'data-sheet="{key}"' in html
    assert "75.0" in html and "<details" in html and "data-print" in html
    assert " style=" not in html


# --- A past month does not change -------------------------------------------------------------------------


def test_past_month_report_does_not_change_when_work_goes_on(as_user, head_a, worker_a, month):
    client = as_user(head_a)
    before_page = [sheet.rows for sheet in html_report(client, month.period).sheets]
    before_xlsx = workbook_rows(client.get(url("stations:monthly_report_xlsx", month.period)).content)
    before_csv = client.get(url("stations:monthly_report_csv", month.period)).content.decode()
    rows, helper = month.rows, month.workers["project"]

    # Today: accept what was waiting, reassign and finish the late one, answer the reopened one, cancel one.
    service_request_transition(
        service_request=rows["unaccepted"], to_status=Status.ACCEPTED, actor=worker_a.user
    )
    service_request_transition(
        service_request=rows["not_due"], to_status=Status.ACCEPTED, actor=worker_a.user
    )
    late = service_request_assign(service_request=rows["late"], assignee=helper, actor=head_a)
    late = service_request_transition(service_request=late, to_status=Status.RESOLVED, actor=helper.user)
    service_request_rate(
        service_request=late,
        actor=head_a,
        solved=True,
        satisfaction=Satisfaction.SATISFIED,
        source=RatingSource.CALLBACK,
    )
    again = service_request_transition(
        service_request=rows["reanswered_later"], to_status=Status.RESOLVED, actor=worker_a.user
    )
    service_request_rate(
        service_request=again,
        actor=head_a,
        solved=True,
        satisfaction=Satisfaction.BASIC,
        source=RatingSource.CALLBACK,
    )
    service_request_transition(
        service_request=rows["crossing"], to_status=Status.CANCELLED, actor=head_a, note="重复诉求"
    )
    rows["late"].refresh_from_db()
    assert rows["late"].status == Status.CLOSED and rows["late"].assignee == helper

    assert [sheet.rows for sheet in html_report(client, month.period).sheets] == before_page
    assert workbook_rows(client.get(url("stations:monthly_report_xlsx", month.period)).content) == before_xlsx
    assert client.get(url("stations:monthly_report_csv", month.period)).content.decode() == before_csv
    # …while this month's figures did move: today's resolutions count now.
    now_report = html_report(client, Period.containing(timezone.now()))
    summary = {row[0]: row[1:] for row in now_report.sheet("summary").rows}
    assert summary[zh("Resolved (办结) in the month")][0] == 2


# --- Scope and errors ------------------------------------------------------------------------------------


def test_report_scope(
    as_user, head_a, worker_a, worker_b, subdistrict_a, resident_user_a, community_a, community_b, month
):
    period = month.period
    assert as_user(worker_a.user).get(url("stations:monthly_report", period)).status_code == 200
    other = as_user(worker_b.user)
    assert other.get(url("stations:monthly_report", period), {"community": community_a.pk}).status_code == 404
    assert (
        other.get(url("stations:monthly_report_xlsx", period), {"community": community_a.pk}).status_code
        == 404
    )
    assert other.get(url("stations:monthly_report_csv", period), {"community": "x1"}).status_code == 404
    assert as_user(resident_user_a).get(url("stations:monthly_report", period)).status_code == 403
    staff = as_user(subdistrict_a)
    rolled = staff.get(url("stations:monthly_report", period))
    assert rolled.status_code == 200 and rolled.context["report"].title == community_a.subdistrict.name
    single = staff.get(url("stations:monthly_report", period), {"community": community_a.pk})
    assert single.context["report"].title == community_a.name
    assert staff.get(url("stations:monthly_report", period), {"community": community_b.pk}).status_code == 404


def test_report_months_out_of_range_are_404(as_user, head_a):
    client = as_user(head_a)
    future = Period.containing(timezone.now()).next()
    assert client.get(url("stations:monthly_report", future)).status_code == 404
    assert client.get(reverse("stations:monthly_report", args=[2026, 13])).status_code == 404
    assert client.get(reverse("stations:monthly_report_xlsx", args=[1999, 1])).status_code == 404


def test_roll_up_report_adds_the_communities(
    as_user, subdistrict_a, community_a, building_a, worker_a, head_a
):
    month = build_month(community_a, building_a, worker_a, head_a)
    sibling = factories.CommunityFactory(subdistrict=community_a.subdistrict, name="安贞里社区", code="AZL")
    build_month(
        sibling,
        factories.BuildingFactory(community=sibling),
        factories.make_worker(community=sibling, username="worker_azl"),
        factories.make_member(role="committee_head", community=sibling, username="head_azl"),
    )
    report = html_report(as_user(subdistrict_a), month.period)
    summary = {row[0]: row[1:] for row in report.sheet("summary").rows}
    assert summary[zh(rates.RATE_LABELS["response"])] == [12, 16, 75.0]
    assert report.sheet("workers").headers[0] == zh("Community")
    assert {row[0] for row in report.sheet("workers").rows} >= {community_a.name, sibling.name}


def test_report_queries_do_not_grow_with_requests(as_user, head_a, worker_a, building_a, community_a):
    from stations.services.categories import categories_seed

    categories_seed(community=community_a)
    period = Period.containing(timezone.now()).previous()
    client = as_user(head_a)
    target = url("stations:monthly_report_xlsx", period)
    bulk_requests(community_a, head_a, worker_a, building_a, 10, start=period.start)
    client.get(target)
    few = count_queries(client, target, {})
    bulk_requests(community_a, head_a, worker_a, building_a, 990, start=period.start + dt.timedelta(hours=3))
    assert count_queries(client, target, {}) == few
