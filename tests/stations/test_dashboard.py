"""Dashboards: the three rates on a hand-built month with a known answer (cancelled, unanswered,
reopened, answered after the month, crossing month ends), drill-down links whose list count equals the
figure, the subdistrict roll-up equal to the sum of its communities, scoping, and a constant number of
queries for 10 and 1,000 requests."""

import datetime as dt
import itertools
import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stations import rates
from stations.choices import (
    AttendanceStatus,
    BookingKind,
    BookingStatus,
    Channel,
    EventKind,
    RatingSource,
    Role,
    Satisfaction,
    Status,
    WorkerType,
)
from stations.models import (
    Attendance,
    Booking,
    Category,
    Course,
    Leave,
    OpeningHours,
    Rating,
    RequestEvent,
    ServiceRequest,
    Space,
)
from stations.rates import Period
from stations.selectors import dashboard as selectors
from stations.services.categories import categories_seed
from tests import factories

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


# --- The hand-built month ---------------------------------------------------------------------------------


@dataclass
class Month:
    """A past month P (two months back, so every "later" event is still in the past) and its requests."""

    period: Period
    community: object
    rows: dict
    workers: dict
    categories: dict

    def at(self, days: float, hours: float = 0) -> dt.datetime:
        return self.period.start + dt.timedelta(days=days, hours=hours)


def new_request(
    community,
    category,
    user,
    *,
    received,
    due_hours=24,
    status=Status.ACCEPTED,
    accepted=None,
    closed=None,
    resolved=None,
    assignee=None,
    building=None,
    channel=Channel.WALK_IN,
    save=True,
) -> ServiceRequest:
    n = next(_seq)
    service_request = ServiceRequest(
        community=community,
        category=category,
        line=category.line,
        created_by=user,
        reference=f"{community.code}-T-{n:07d}",
        title=f"诉求{n}",
        received_at=received,
        response_due_at=received + dt.timedelta(hours=due_hours),
        resolution_due_at=received + 7 * D,
        status=status,
        accepted_at=accepted,
        closed_at=closed,
        resolved_at=resolved,
        assignee=assignee,
        building=building,
        channel=channel,
    )
    if save:
        service_request.save()
    return service_request


def answer(service_request, user, *, at, solved, satisfaction, comment="") -> None:
    """A follow-up answer: a Rating row, and the request's latest-answer fields."""
    Rating.objects.create(
        request=service_request,
        solved=solved,
        satisfaction=satisfaction,
        comment=comment,
        source=RatingSource.CALLBACK,
        recorded_by=user,
        at=at,
    )
    ServiceRequest.objects.filter(pk=service_request.pk).update(
        solved=solved, satisfaction=satisfaction, rated_at=at
    )


def event(service_request, *, kind=EventKind.STATUS, at, old="", new="", actor=None, **fields) -> None:
    RequestEvent.objects.create(
        request=service_request, kind=kind, at=at, old_status=old, new_status=new, actor=actor, **fields
    )


def build_month(community, building, worker, head, *, other_community=None, other_user=None) -> Month:
    categories_seed(community=community)
    cat = {
        name: Category.objects.get(community=community, name=name)
        for name in ("代开药", "党员活动", "政策咨询", "房屋漏水")
    }
    helper = factories.make_worker(
        community=community, worker_type=WorkerType.PROJECT, username=f"proj_{community.code}"
    )
    period = Period.containing(timezone.now()).previous().previous()
    month = Month(period, community, {}, {"liaison": worker, "project": helper}, cat)
    at = month.at
    user = head
    rows = month.rows

    def add(key, category="代开药", **kwargs):
        kwargs.setdefault("assignee", worker)
        rows[key] = new_request(community, cat[category], user, **kwargs)
        return rows[key]

    # 1. accepted in time, resolved by the worker, answered solved + satisfied.
    r = add(
        "in_time",
        received=at(1),
        accepted=at(1, 2),
        status=Status.CLOSED,
        closed=at(3),
        resolved=at(2),
        building=building,
    )
    event(r, at=at(2), old=Status.ACCEPTED, new=Status.RESOLVED, actor=worker.user)
    answer(r, user, at=at(3), solved=True, satisfaction=Satisfaction.SATISFIED, comment="很及时，谢谢")
    # 2. accepted late (30 h on a 24 h limit), answered not solved + dissatisfied: back to work.
    r = add("late", received=at(2), accepted=at(2, 30), status=Status.IN_PROGRESS, building=building)
    event(r, at=at(4), old=Status.ACCEPTED, new=Status.RESOLVED, actor=worker.user)
    answer(r, user, at=at(5), solved=False, satisfaction=Satisfaction.DISSATISFIED, comment="没解决")
    # 3. never accepted, response deadline passed in the month.
    add("unaccepted", received=at(3), status=Status.NEW, building=building)
    # 4. received an hour before the month's end: not due yet at the end.
    add("not_due", received=month.period.end - H, status=Status.NEW, assignee=None)
    # 5. cancelled in the month: out of every rate.
    add("cancelled", received=at(4), accepted=at(4, 1), status=Status.CANCELLED, closed=at(5))
    # 6. cancelled only after the month: at the month's end it still counted.
    r = add(
        "cancelled_later",
        received=at(6),
        accepted=at(6, 1),
        status=Status.CANCELLED,
        closed=month.period.end + 2 * D,
        category="党员活动",
        assignee=helper,
    )
    event(r, at=month.period.end + 2 * D, old=Status.ACCEPTED, new=Status.CANCELLED)
    # 7. reopened within the month: first answer not solved, second solved + basically satisfied.
    r = add(
        "reopened", received=at(7), accepted=at(7, 1), status=Status.CLOSED, closed=at(10), building=building
    )
    event(r, at=at(7, 5), old=Status.ACCEPTED, new=Status.RESOLVED, actor=worker.user)
    answer(r, user, at=at(8), solved=False, satisfaction=Satisfaction.DISSATISFIED)
    event(r, at=at(9), old=Status.IN_PROGRESS, new=Status.RESOLVED, actor=worker.user)
    answer(r, user, at=at(10), solved=True, satisfaction=Satisfaction.BASIC, comment="基本满意")
    # 8. answered solved but dissatisfied in the month, answered again after the month (not solved):
    #    at the month's end the first answer stands.
    r = add(
        "reanswered_later", received=at(8), accepted=at(8, 1), status=Status.IN_PROGRESS, category="房屋漏水"
    )
    event(r, at=at(8, 20), old=Status.ACCEPTED, new=Status.RESOLVED, actor=worker.user)
    answer(r, user, at=at(9), solved=True, satisfaction=Satisfaction.DISSATISFIED)
    event(r, at=month.period.end + 2 * D, old=Status.IN_PROGRESS, new=Status.RESOLVED, actor=worker.user)
    answer(r, user, at=month.period.end + 3 * D, solved=False, satisfaction=Satisfaction.DISSATISFIED)
    event(
        r, kind=EventKind.REOPENED, at=month.period.end + 3 * D, old=Status.RESOLVED, new=Status.IN_PROGRESS
    )
    # 9. answered only after the month: no answer at its end.
    r = add(
        "answered_later",
        received=at(9),
        accepted=at(9, 1),
        status=Status.CLOSED,
        closed=month.period.end + D,
        category="政策咨询",
        assignee=helper,
        channel=Channel.VISIT,
    )
    event(r, at=at(12), old=Status.ACCEPTED, new=Status.RESOLVED, actor=helper.user)
    answer(r, user, at=month.period.end + D, solved=True, satisfaction=Satisfaction.SATISFIED)
    event(r, at=month.period.end + D, old=Status.RESOLVED, new=Status.CLOSED)
    # 10. received on the last evening of the month before: that month's, not this one's.
    add(
        "previous_month",
        received=month.period.start - 2 * H,
        accepted=month.period.start + H,
        status=Status.ACCEPTED,
        channel=Channel.PROACTIVE,
    )
    # 11. received two hours before the end, accepted an hour after it: not due, not accepted at the end.
    r = add(
        "crossing",
        received=month.period.end - 2 * H,
        accepted=month.period.end + H,
        status=Status.ACCEPTED,
        channel=Channel.VISIT,
    )
    event(r, at=month.period.end + H, old=Status.NEW, new=Status.ACCEPTED)
    # 12. answered solved + basically satisfied.
    r = add(
        "basic",
        received=at(11),
        accepted=at(11, 3),
        status=Status.CLOSED,
        closed=at(13),
        category="党员活动",
        assignee=helper,
        building=building,
    )
    event(r, at=at(12), old=Status.ACCEPTED, new=Status.RESOLVED, actor=helper.user)
    answer(r, user, at=at(13), solved=True, satisfaction=Satisfaction.BASIC, comment="还行")
    # 13. another community: never counted here.
    if other_community is not None:
        categories_seed(community=other_community)
        new_request(
            other_community,
            Category.objects.get(community=other_community, name="代开药"),
            other_user,
            received=at(5),
            accepted=at(5, 1),
        )
    return month


@pytest.fixture
def month(community_a, building_a, worker_a, head_a, community_b, worker_b):
    return build_month(
        community_a, building_a, worker_a, head_a, other_community=community_b, other_user=worker_b.user
    )


def build_spaces(community, period: Period, user, resident) -> Space:
    """A 435 m² hall open 8 hours every day, booked 4 hours on day 3 and 2 hours on day 4 of the month
    (plus a cancelled booking that does not count); a yoga session on day 5 with one present and one
    absent; the community's office is 75 m² (the Huamao figures)."""
    community.office_area_m2 = 75
    community.save(update_fields=["office_area_m2"])
    hall = Space.objects.create(community=community, name="活动大厅", area_m2=435, capacity=40)
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=hall, weekday=d, opens=dt.time(9), closes=dt.time(17)) for d in range(7)]
    )
    day = period.start

    def book(days, hours, **fields):
        start = day + dt.timedelta(days=days, hours=10)
        return Booking.objects.create(
            space=hall, starts_at=start, ends_at=start + dt.timedelta(hours=hours), booked_by=user, **fields
        )

    book(2, 4, resident=resident)
    book(3, 2, resident=resident, status=BookingStatus.NO_SHOW)
    book(6, 3, resident=resident, status=BookingStatus.CANCELLED)
    yoga = Course.objects.create(community=community, space=hall, title="瑜伽", capacity=10)
    session = book(4, 1, kind=BookingKind.COURSE, course=yoga)
    other = factories.ResidentFactory(household=resident.household)
    Attendance.objects.create(
        session=session, resident=resident, status=AttendanceStatus.PRESENT, recorded_by=user
    )
    Attendance.objects.create(
        session=session, resident=other, status=AttendanceStatus.ABSENT, recorded_by=user
    )
    return hall


def pks(month: Month, *names: str) -> set[int]:
    return {month.rows[name].pk for name in names}


def in_set(key: str, period: Period, now: dt.datetime, community) -> set[int]:
    return set(
        ServiceRequest.objects.filter(community=community)
        .filter(rates.figure_q(key, period, now))
        .values_list("pk", flat=True)
    )


# --- Periods ------------------------------------------------------------------------------------------------


def test_period_bounds_are_local_months():
    period = Period(2026, 12)
    assert timezone.localtime(period.start).isoformat() == "2026-12-01T00:00:00+08:00"
    assert timezone.localtime(period.end).isoformat() == "2027-01-01T00:00:00+08:00"
    assert period.previous() == Period(2026, 11) and Period(2026, 1).previous() == Period(2025, 12)
    assert Period.parse("2026-03") == Period(2026, 3)
    for junk in ("2026-13", "2026-3", "", None, "abcd-ef", "1999-01", "2026-03-01"):
        assert Period.parse(junk) is None
    now = timezone.make_aware(dt.datetime(2026, 12, 15, 10))
    assert period.cutoff(now) == now and Period(2026, 11).cutoff(now) == Period(2026, 11).end


# --- The three rates on a known set -----------------------------------------------------------------------


def test_rates_of_a_past_month_have_the_known_answer(month):
    now = timezone.now()
    tables = selectors.rate_tables([month.community], month.period, now, community=month.community)
    total = tables.total
    # Population: everything received in the month except the request cancelled in it.
    assert in_set("received", month.period, now, month.community) == pks(
        month,
        "in_time",
        "late",
        "unaccepted",
        "not_due",
        "cancelled_later",
        "reopened",
        "reanswered_later",
        "answered_later",
        "crossing",
        "basic",
    )
    assert total.received == 10 and total["cancelled"] == 1
    # Response: due or accepted by the month's end (not_due and crossing were neither).
    assert in_set("response_den", month.period, now, month.community) == pks(
        month,
        "in_time",
        "late",
        "unaccepted",
        "cancelled_later",
        "reopened",
        "reanswered_later",
        "answered_later",
        "basic",
    )
    assert (total.response.num, total.response.den, total.response.percent) == (6, 8, 75.0)
    # Resolution: answered by the month's end; "reanswered_later" counts with its in-month answer.
    assert in_set("resolution_den", month.period, now, month.community) == pks(
        month, "in_time", "late", "reopened", "reanswered_later", "basic"
    )
    assert in_set("resolution_num", month.period, now, month.community) == pks(
        month, "in_time", "reopened", "reanswered_later", "basic"
    )
    assert (total.resolution.num, total.resolution.den, total.resolution.percent) == (4, 5, 80.0)
    # Satisfaction: satisfied or basically satisfied (the reopened request with its latest answer).
    assert in_set("satisfaction_num", month.period, now, month.community) == pks(
        month, "in_time", "reopened", "basic"
    )
    assert (total.satisfaction.num, total.satisfaction.den, total.satisfaction.percent) == (3, 5, 60.0)
    # Proactive (visit + proactive channels) vs brought by residents.
    assert (total.proactive, total.reactive) == (2, 8)


def test_month_without_answers_has_no_resolution_rate(month):
    tables = selectors.rate_tables([month.community], month.period.previous(), timezone.now())
    total = tables.total
    assert total.received == 1  # "previous_month", received two hours before the month
    # Accepted an hour after that month's end and due 22 h after it: at its end neither due nor accepted.
    assert (total.response.num, total.response.den) == (0, 0)
    assert total.resolution.den == 0 and total.resolution.percent is None
    assert total.satisfaction.percent is None
    # An empty month: every rate is "no figure", not zero.
    empty = selectors.rate_tables([month.community], month.period.previous().previous(), timezone.now()).total
    assert [r.percent for r in (empty.response, empty.resolution, empty.satisfaction)] == [None, None, None]


def test_running_month_counts_up_to_now_with_the_latest_answer_before_it(month):
    # Seen from inside the month (day 9, 12:00): "reopened" was answered "not solved" on day 8 and
    # re-answered on day 10, so now it counts with the first answer; "reanswered_later" with day 9's.
    now = month.at(9, 12)
    assert now < month.period.end
    den = in_set("resolution_den", month.period, now, month.community)
    num = in_set("resolution_num", month.period, now, month.community)
    assert pks(month, "reopened", "reanswered_later", "in_time", "late") == den
    assert num == pks(month, "in_time", "reanswered_later")
    # Response due before now or accepted before now; "answered_later" was accepted at day 9, 01:00.
    assert month.rows["answered_later"].pk in in_set("response_num", month.period, now, month.community)


def test_rates_per_line_and_worker_type_add_up(month):
    tables = selectors.rate_tables([month.community], month.period, timezone.now(), community=month.community)
    by_line = {code: f for code, _label, f in tables.by_line}
    assert by_line["party"].received == 2  # cancelled_later + basic
    assert (by_line["party"].response.num, by_line["party"].response.den) == (2, 2)
    assert by_line["business"].received == 1
    assert sum(f.received for _c, _l, f in tables.by_line) == tables.total.received
    by_type = {code: f for code, _label, f in tables.by_type}
    assert sum(f.response.den for f in by_type.values()) == tables.total.response.den
    assert by_type[WorkerType.GOVERNMENT].received == 1


# --- Drill-down: the list's count equals the figure ------------------------------------------------------------


def list_count(client, query: str) -> int:
    response = client.get(f"{reverse('stations:request_list')}?{query}")
    assert response.status_code == 200
    return response.context["page"].paginator.count


def test_every_dashboard_figure_opens_exactly_its_requests(as_user, head_a, month):
    client = as_user(head_a)
    response = client.get(reverse("stations:dashboard"), {"period": month.period.key})
    assert response.status_code == 200
    context = response.context
    checked = 0
    for row in context["rate_rows"]:
        assert list_count(client, row["current"].num_query) == row["current"].num
        assert list_count(client, row["current"].den_query) == row["current"].den
        assert list_count(client, row["previous"].num_query) == row["previous"].num
        checked += 3
    for _code, _label, figures in [*context["tables"].by_line, *context["tables"].by_type]:
        for rate in rates.RATES:
            ratio = figures.ratio(rate)
            assert list_count(client, ratio.num_query) == ratio.num
            assert list_count(client, ratio.den_query) == ratio.den
            checked += 2
        assert list_count(client, figures.queries["received"]) == figures.received
    figures = context["figures"]
    for key in ("received", "cancelled", "proactive", "reactive"):
        assert list_count(client, figures.queries[key]) == figures[key]
    for category in context["categories"]:
        assert list_count(client, category.queries["received"]) == category.received
    matrix = context["matrix"]
    for row in matrix["rows"]:
        for cell in row["cells"]:
            assert list_count(client, cell["query"]) == cell["n"]
    assert list_count(client, matrix["candidate"]["query"]) == matrix["candidate"]["n"] == 4
    live, queries = context["live"], context["live_queries"]
    for key in ("new", "accepted", "in_progress", "resolved", "overdue", "due_soon", "open"):
        assert list_count(client, queries[key]) == live[key], key
    for row in context["workers"]:
        assert list_count(client, row["open_query"]) == row["open"]
        assert list_count(client, row["overdue_query"]) == row["overdue"]
    assert checked >= 9 + 36


def test_rate_filter_keeps_the_other_filters_and_ignores_junk(as_user, head_a, month):
    client = as_user(head_a)
    base = f"rate=response_num&period={month.period.key}"
    assert list_count(client, base) == 6
    assert list_count(client, base + "&line=party") == 2
    assert list_count(client, base + f"&assignee={month.workers['project'].pk}") == 3
    assert list_count(client, base + "&status=closed") == 4
    html = client.get(f"{reverse('stations:request_list')}?{base}").content.decode()
    assert '<input type="hidden" name="rate" value="response_num">' in html
    assert f'<input type="hidden" name="period" value="{month.period.key}">' in html
    all_a = ServiceRequest.objects.filter(community=month.community).count()
    assert list_count(client, "rate=bogus") == all_a  # not a valid choice: ignored
    # A junk month means this month (nothing of P's is in it).
    assert list_count(client, "rate=response_num&period=20x6-99") == 0


# --- The page ---------------------------------------------------------------------------------------------------


def test_dashboard_page_shows_rates_workers_and_theme(as_user, head_a, worker_a, month):
    Leave.objects.create(
        worker=month.workers["project"],
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=3),
    )
    response = as_user(head_a).get(reverse("stations:dashboard"), {"period": month.period.key})
    html = response.content.decode()
    assert response.context["community"] == month.community
    assert 'id="rate-response"' in html and "75.0%" in html and "80.0%" in html and "60.0%" in html
    assert "<details" in html and reverse("stations:request_list") in html
    # Charts: Chart.js and charts.js from our static files, data in JSON blocks with the CSP nonce.
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/charts.js" in html
    nonce = re.search(r'id="chart-trend" nonce="([^"]+)"', html)
    assert nonce and nonce.group(1) in response.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)  # no inline JavaScript
    assert " style=" not in html
    # The 每月一题 candidate: 代开药 in building_a came back 4 times (in_time, late, unaccepted, reopened).
    candidate = response.context["matrix"]["candidate"]
    assert (candidate["category_name"], candidate["building_number"]) == ("代开药", "1号楼")
    assert candidate["n"] == 4
    assert "channel=proactive" in html
    # Workers: the resolutions of the month by who marked them resolved, with the median hours.
    rows = {row["worker"].pk: row for row in response.context["workers"]}
    liaison, project = rows[month.workers["liaison"].pk], rows[month.workers["project"].pk]
    # liaison resolved in_time (24 h after receipt), late (48 h), reopened twice (5 h, 48 h), reanswered (20 h)
    assert liaison["resolved"] == 5 and liaison["median_hours"] == 24.0
    assert project["resolved"] == 2 and project["median_hours"] == 48.0  # 72 h and 24 h
    assert project["on_leave"] and not liaison["on_leave"]
    assert "很及时，谢谢" in html


def test_latest_comments_of_one_community_compiled_as_the_orm_reads_them(month, community_a, community_b):
    from stations.selectors.dashboard import tables

    for cutoff in (month.period.start + 4 * D, month.period.end, timezone.now() + D):
        one = tables.latest_comments([community_a], cutoff)
        assert one == list(tables._comments_of([community_a], cutoff)[: tables.LATEST_COMMENTS])
        assert all(r.request.community_id == community_a.pk and r.comment and r.at < cutoff for r in one)
        assert [r.at for r in one] == sorted((r.at for r in one), reverse=True)
        both = tables.latest_comments([community_a, community_b], cutoff)
        assert set(one) <= set(both) or len(both) == tables.LATEST_COMMENTS
    assert [r.comment for r in tables.latest_comments([community_a.pk], month.period.start + 4 * D)] == [
        "很及时，谢谢"
    ]


def test_dashboard_spaces_section(as_user, head_a, month, resident_a):
    build_spaces(month.community, month.period, head_a, resident_a)
    response = as_user(head_a).get(reverse("stations:dashboard"), {"period": month.period.key})
    spaces = response.context["spaces"]
    days = (month.period.end - month.period.start).days
    (hall,) = spaces["rows"]
    assert hall["month_open_hours"] == days * 8
    assert (
        hall["month_booked_hours"] == 7
    )  # 4 + 2 (a no-show still held the room) + 1 course; not the cancelled
    assert hall["month_percent"] == round(700 / (days * 8), 1)
    assert (hall["present"], hall["absent"], hall["no_shows"]) == (1, 1, 2)
    assert spaces["areas"]["office_m2"] == 75 and spaces["areas"]["service_m2"] == 435
    assert spaces["areas"]["service_percent"] == 85.3
    html = response.content.decode()
    assert 'id="spaces-table"' in html and "活动大厅" in html and 'id="chart-spaces"' in html


def test_worker_sees_own_dashboard_read_only_but_not_another_community(
    as_user, worker_a, worker_b, community_a, community_b
):
    client = as_user(worker_a.user)
    assert client.get(reverse("stations:dashboard")).status_code == 200
    assert client.get(reverse("stations:community_dashboard", args=[community_a.pk])).status_code == 200
    assert client.get(reverse("stations:community_dashboard", args=[community_b.pk])).status_code == 404
    other = as_user(worker_b.user)
    assert other.get(reverse("stations:community_dashboard", args=[community_a.pk])).status_code == 404
    response = other.get(reverse("stations:dashboard"))
    assert response.context["community"] == community_b


def test_dashboard_refuses_residents_and_anonymous(client, as_user, resident_user_a, community_a):
    url = reverse("stations:dashboard")
    assert client.get(url).status_code == 302  # to the login page
    resident = as_user(resident_user_a)
    assert resident.get(url).status_code == 403
    assert resident.get(reverse("stations:community_dashboard", args=[community_a.pk])).status_code == 403
    assert resident.get(reverse("stations:subdistrict_dashboard")).status_code == 403


def test_subdistrict_staff_roll_up_and_open_communities_in_scope(
    as_user, subdistrict_a, community_a, community_b
):
    client = as_user(subdistrict_a)
    response = client.get(reverse("stations:dashboard"), {"period": "2026-01"})
    assert response.status_code == 302 and response.url.endswith("/dashboard/subdistrict/?period=2026-01")
    assert client.get(reverse("stations:community_dashboard", args=[community_a.pk])).status_code == 200
    assert client.get(reverse("stations:community_dashboard", args=[community_b.pk])).status_code == 404


def test_community_staff_opening_the_roll_up_go_to_their_dashboard(as_user, head_a):
    response = as_user(head_a).get(reverse("stations:subdistrict_dashboard"))
    assert response.status_code == 302 and response.url == reverse("stations:dashboard")


def test_period_parameter_junk_and_future_mean_this_month(as_user, head_a):
    client = as_user(head_a)
    this = Period.containing(timezone.now())
    for value in ("junk", "2026-13", this.next().next().key):
        assert client.get(reverse("stations:dashboard"), {"period": value}).context["period"] == this


def test_navigation_links_the_dashboard_for_heads_and_subdistrict_only(
    as_user, head_a, worker_a, subdistrict_a
):
    url = reverse("stations:dashboard")
    assert f'href="{url}"' in as_user(head_a).get(reverse("home")).content.decode()
    assert f'href="{url}"' in as_user(subdistrict_a).get(reverse("home")).content.decode()
    nav = as_user(worker_a.user).get(reverse("stations:request_list")).content.decode()
    assert f'class="nav-link" href="{url}"' not in nav


# --- Subdistrict roll-up ------------------------------------------------------------------------------------


def test_roll_up_equals_the_sum_of_the_communities(
    as_user, subdistrict_a, community_a, building_a, worker_a, head_a
):
    month = build_month(community_a, building_a, worker_a, head_a)
    sibling = factories.CommunityFactory(subdistrict=community_a.subdistrict, name="安贞里社区", code="AZL")
    sibling_head = factories.make_member(role=Role.HEAD, community=sibling, username="head_azl")
    sibling_worker = factories.make_worker(community=sibling, username="worker_azl")
    build_month(sibling, factories.BuildingFactory(community=sibling), sibling_worker, sibling_head)
    client = as_user(subdistrict_a)
    rolled = client.get(reverse("stations:subdistrict_dashboard"), {"period": month.period.key}).context
    ranking = {row["community"].pk: row for row in rolled["ranking"]}
    assert set(ranking) == {community_a.pk, sibling.pk}
    singles = {
        pk: client.get(
            reverse("stations:community_dashboard", args=[pk]), {"period": month.period.key}
        ).context
        for pk in ranking
    }
    for key in selectors.PERIOD_FIGURES:
        assert rolled["figures"].counts[key] == sum(c["figures"].counts[key] for c in singles.values()), key
        for pk, single in singles.items():
            assert ranking[pk]["figures"].counts[key] == single["figures"].counts[key]
    for key in ("new", "accepted", "in_progress", "resolved", "overdue", "due_soon", "open"):
        assert rolled["live"][key] == sum(c["live"][key] for c in singles.values())
    assert rolled["figures"].response.den == 16 and rolled["figures"].response.num == 12
    # Roll-up drill-down: the list over all the subdistrict's communities.
    assert list_count(client, rolled["figures"].response.num_query) == 12
    # Ranking by resolution rate: equal rates, so by name; each row opens its community's dashboard.
    by_resolution = client.get(
        reverse("stations:subdistrict_dashboard"), {"period": month.period.key, "rank": "resolution"}
    )
    assert [row["rank"] for row in by_resolution.context["ranking"]] == [1, 2]
    html = by_resolution.content.decode()
    assert reverse("stations:community_dashboard", args=[sibling.pk]) + f"?period={month.period.key}" in html


# --- Query counts ----------------------------------------------------------------------------------------------


def bulk_requests(community, user, worker, building, n: int, *, start: dt.datetime) -> None:
    categories = list(Category.objects.filter(community=community, parent__isnull=False)[:6])
    statuses = [
        Status.NEW,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Status.CLOSED,
        Status.CANCELLED,
    ]
    objs = []
    for i in range(n):
        received = start + dt.timedelta(minutes=7 * i)
        status = statuses[i % len(statuses)]
        obj = new_request(
            community,
            categories[i % len(categories)],
            user,
            received=received,
            status=status,
            accepted=received + H if status != Status.NEW else None,
            closed=received + 2 * D if status in (Status.CLOSED, Status.CANCELLED) else None,
            assignee=worker if i % 3 else None,
            building=building if i % 2 else None,
            channel=Channel.VISIT if i % 4 == 0 else Channel.PHONE,
            save=False,
        )
        if status == Status.CLOSED:
            obj.rated_at, obj.solved, obj.satisfaction = received + 2 * D, True, Satisfaction.SATISFIED
        objs.append(obj)
    made = ServiceRequest.objects.bulk_create(objs)
    RequestEvent.objects.bulk_create(
        [
            RequestEvent(
                request=r,
                kind=EventKind.STATUS,
                at=r.received_at + D,
                old_status=Status.ACCEPTED,
                new_status=Status.RESOLVED,
                actor=worker.user,
            )
            for r in made
            if r.status in (Status.RESOLVED, Status.CLOSED)
        ]
    )
    Rating.objects.bulk_create(
        [
            Rating(
                request=r,
                community_id=r.community_id,
                solved=True,
                satisfaction=Satisfaction.SATISFIED,
                comment="好",
                source=RatingSource.REQUESTER,
                recorded_by=user,
                at=r.rated_at,
            )
            for r in made
            if r.rated_at
        ]
    )


def count_queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def test_dashboard_queries_do_not_grow_with_requests(
    as_user, head_a, worker_a, building_a, community_a, subdistrict_a
):
    categories_seed(community=community_a)
    period = Period.containing(timezone.now()).previous()
    factories.make_worker(community=community_a, worker_type=WorkerType.GOVERNMENT, username="gov")
    client = as_user(head_a)
    url = reverse("stations:dashboard")
    bulk_requests(community_a, head_a, worker_a, building_a, 10, start=period.start)
    client.get(url, {"period": period.key})  # warm caches (content types, permissions)
    few = count_queries(client, url, {"period": period.key})
    bulk_requests(community_a, head_a, worker_a, building_a, 990, start=period.start + 3 * H)
    assert ServiceRequest.objects.count() == 1000
    many = count_queries(client, url, {"period": period.key})
    assert few == many
    staff = as_user(subdistrict_a)
    roll_url = reverse("stations:subdistrict_dashboard")
    staff.get(roll_url, {"period": period.key})
    assert count_queries(staff, roll_url, {"period": period.key}) == count_queries(
        staff, roll_url, {"period": period.key}
    )


def test_roll_up_queries_do_not_grow_with_requests(
    as_user, subdistrict_a, head_a, worker_a, building_a, community_a
):
    categories_seed(community=community_a)
    sibling = factories.CommunityFactory(subdistrict=community_a.subdistrict, code="AZL")
    period = Period.containing(timezone.now()).previous()
    staff = as_user(subdistrict_a)
    url = reverse("stations:subdistrict_dashboard")
    bulk_requests(community_a, head_a, worker_a, building_a, 10, start=period.start)
    staff.get(url, {"period": period.key})
    few = count_queries(staff, url, {"period": period.key})
    bulk_requests(community_a, head_a, worker_a, building_a, 990, start=period.start + 3 * H)
    factories.BuildingFactory(community=sibling)
    assert count_queries(staff, url, {"period": period.key}) == few


def test_care_counts_vulnerable_residents_overdue_for_a_visit(
    as_user, head_a, subdistrict_a, resident_a, household_a
):
    tag = factories.CareTagFactory()  # 独居老人, visit every 7 days
    resident_a.care_tags.add(tag)
    neighbour = factories.ResidentFactory(household=household_a)
    neighbour.care_tags.add(tag)
    factories.ResidentFactory(household=household_a)  # no tag: never due
    response = as_user(head_a).get(reverse("stations:dashboard"))
    assert response.context["care_overdue"] == 2
    rolled = as_user(subdistrict_a).get(reverse("stations:subdistrict_dashboard"))
    assert rolled.context["care_overdue"] == 2


def test_superuser_without_a_community_gets_the_roll_up_of_all(as_user, community_a, community_b):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("admin", password="x")
    client = as_user(admin)
    response = client.get(reverse("stations:dashboard"), follow=True)
    assert response.status_code == 200
    assert {row["community"].pk for row in response.context["ranking"]} == {community_a.pk, community_b.pk}
    assert client.get(reverse("stations:community_dashboard", args=[community_b.pk])).status_code == 200
    report = client.get(reverse("stations:monthly_report", args=[2026, 1]))
    assert report.status_code == 200 and len(report.context["report"].sheets) == 6
