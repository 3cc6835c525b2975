"""The dashboards' summary tables (PostgreSQL triggers, stations.services.summary) give exactly the numbers
of counting live: on the hand-built month of test_dashboard, after edits, a reopen, cancellations,
answers entered late or deleted, moves across months and communities, deletes, bulk writes and the
generator's COPY; at cut-offs taken later without any write (a response deadline passing); and the rebuild
gives the same tables as the triggers. Also: the care count and the Spaces section equal the functions
they stand in for — the care summary after visits, care tags, cadences and moves, and when two care writes
race — and both pages cost at most 15 queries, the same for 10 and 1,000 requests."""

import datetime as dt
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from residents.models import CareTag, Resident
from stations.choices import EventKind, Satisfaction, Status, WorkerType
from stations.models import (
    Category,
    Rating,
    RequestEvent,
    ServiceRequest,
    SummaryDay,
    SummaryMonth,
    SummaryResolution,
    Visit,
)
from stations.models.summary import SummaryCare
from stations.rates import Period
from stations.selectors.dashboard import figures as figure_selectors
from stations.selectors.dashboard import tables as table_selectors
from stations.selectors.dashboard.spaces import space_usage, spaces_section
from stations.selectors.space_admin import space_utilisation
from stations.selectors.visits import visits_overdue
from stations.services.categories import categories_seed
from stations.services.summary import MONTH_FIGURES, care_summary_rebuild, summary_paused, summary_rebuild
from tests import factories
from tests.stations.test_dashboard import (
    D,
    H,
    answer,
    build_month,
    build_spaces,
    bulk_requests,
    event,
    new_request,
)

pytestmark = pytest.mark.django_db
postgres = pytest.mark.postgres


def keyed(rows: list[dict]) -> dict:
    return {
        tuple(row[k] for k in figure_selectors.ROW_KEYS): {
            k: v for k, v in row.items() if k not in figure_selectors.ROW_KEYS and v
        }
        for row in rows
    }


def live_resolutions(communities, period: Period, now: dt.datetime) -> dict:
    """resolution_times as it was counted before the summary: every resolution joined to its request."""
    took = ExpressionWrapper(F("at") - F("request__received_at"), output_field=DurationField())
    rows = (
        RequestEvent.objects.filter(
            kind=EventKind.STATUS,
            new_status=Status.RESOLVED,
            at__gte=period.start,
            at__lt=period.cutoff(now),
            request__community__in=communities,
        )
        .order_by()
        .values(worker=F("actor__social_worker"))
        .annotate(n=Count("pk"), median=table_selectors.Median(took, output_field=DurationField()))
    )
    return {
        row["worker"]: {"resolved": row["n"], "median_hours": table_selectors._hours(row["median"])}
        for row in rows
    }


def assert_summary_is_live(communities, now: dt.datetime, *, months: int = 4) -> int:
    """Every figure the summary serves equals live counting at cut-off ``now``, for the running month and the
    months before it: the period rows, the weekly trend, the resolutions. Returns the figures compared."""
    compared = 0
    period = Period.containing(now)
    for _ in range(months):
        summary = figure_selectors._summary_rows(communities, period, now)
        assert summary is not None, f"{period} at {now}: the summary declined"
        live = figure_selectors.live_period_rows(communities, period, now)
        assert keyed(summary) == keyed(live), f"{period} at {now}"
        compared += sum(len(v) for v in keyed(live).values())
        cutoff = period.cutoff(now)
        first_monday, _low, _mondays = table_selectors._trend_window(cutoff, 12)
        got = table_selectors._summary_trend(communities, cutoff, first_monday)
        assert got is not None
        for row in table_selectors.live_weekly_trend(communities, cutoff):
            stored = (got[0].get(row["week"], 0), got[1].get(row["week"], 0))
            assert stored == (row["received"], row["resolved"]), f"week {row['week']} at {cutoff}"
            compared += 2
        assert table_selectors.resolution_times(communities, period, now) == live_resolutions(
            communities, period, now
        )
        period = period.previous()
    return compared


def table_snapshot() -> dict:
    """The summary as figures per key (settled rows and steps summed per key and moment)."""
    months = {}
    for row in SummaryMonth.objects.values("community", "period", "category", "line", "at", *MONTH_FIGURES):
        key = (row["community"], row["period"], row["category"], row["line"], row["at"])
        months[key] = tuple(row[f] for f in MONTH_FIGURES)
    days = {
        (r["community"], r["day"], r["at"]): (r["received"], r["resolved"])
        for r in SummaryDay.objects.values("community", "day", "at", "received", "resolved")
    }
    facts = set(
        SummaryResolution.objects.values_list("event", "request", "community", "actor", "at", "received_at")
    )
    return {"months": months, "days": days, "facts": facts}


def totals(snapshot: dict, now: dt.datetime) -> dict:
    """Per (community, month) and (community, day): the figures at ``now`` (settled + steps before now)."""
    months: dict = {}
    for (community, period, category, line, at), values in snapshot["months"].items():
        if at is None or at < now:
            key = (community, period, category, line)
            months[key] = tuple(
                a + b for a, b in zip(months.get(key, (0,) * len(values)), values, strict=True)
            )
    days: dict = {}
    for (community, day, at), values in snapshot["days"].items():
        if at is None or at < now:
            days[(community, day)] = tuple(
                a + b for a, b in zip(days.get((community, day), (0, 0)), values, strict=True)
            )
    return {
        "months": {k: v for k, v in months.items() if any(v)},
        "days": {k: v for k, v in days.items() if any(v)},
        "facts": snapshot["facts"],
    }


# --- The summary equals live counting -------------------------------------------------------------------------


def test_the_summary_counts_the_figures_the_pages_show():
    from stations import rates
    from stations.services import summary

    assert MONTH_FIGURES == figure_selectors.PERIOD_FIGURES
    assert set(summary.SATISFIED) == set(rates.SATISFIED)
    assert {f"{rate}_{part}" for rate in rates.RATES for part in ("num", "den")} <= set(MONTH_FIGURES)


@pytest.fixture
def desk(community_a, building_a, worker_a, head_a, community_b, worker_b):
    month = build_month(
        community_a, building_a, worker_a, head_a, other_community=community_b, other_user=worker_b.user
    )
    return month


@postgres
def test_hand_built_month_summary_equals_live(desk, community_a, community_b):
    now = timezone.now()
    assert assert_summary_is_live([community_a], now) > 40
    assert_summary_is_live([community_a, community_b], now)
    assert_summary_is_live([community_b], now)


@postgres
def test_edits_reopen_cancel_late_answers_and_deletes_keep_the_summary_exact(
    desk, community_a, community_b, worker_a, head_a, building_a
):
    rows, period = desk.rows, desk.period
    now = timezone.now()
    running = Period.containing(now)
    # Another category (another line and worker type) and another month for two requests.
    party = Category.objects.get(community=community_a, name="党员活动")
    ServiceRequest.objects.filter(pk=rows["late"].pk).update(category=party, line=party.line)
    moved = rows["unaccepted"]
    moved.received_at = period.start - 3 * D
    moved.response_due_at = moved.received_at + 24 * H
    moved.save()
    # Reopened after its answer: back in progress, resolved again, answered again.
    reopened = rows["basic"]
    event(reopened, kind=EventKind.REOPENED, at=desk.at(20), old=Status.CLOSED, new=Status.IN_PROGRESS)
    event(reopened, at=desk.at(22), old=Status.IN_PROGRESS, new=Status.RESOLVED, actor=worker_a.user)
    answer(reopened, head_a, at=desk.at(23), solved=False, satisfaction=Satisfaction.DISSATISFIED)
    # An answer entered late but dated in the month, before the request's own later answer.
    Rating.objects.create(
        request=rows["answered_later"],
        solved=False,
        satisfaction=Satisfaction.DISSATISFIED,
        source="callback",
        recorded_by=head_a,
        at=desk.at(20),
    )
    # An answer withdrawn (deleted) from the history.
    Rating.objects.filter(request=rows["reanswered_later"]).order_by("at").first().delete()
    # Cancelled just now, and a resolution event deleted.
    ServiceRequest.objects.filter(pk=rows["crossing"].pk).update(status=Status.CANCELLED, closed_at=now)
    RequestEvent.objects.filter(request=rows["in_time"], new_status=Status.RESOLVED).delete()
    # A request deleted with its timeline and answers, as Django deletes it.
    gone = rows["cancelled"]
    gone.events.all().delete()
    gone.ratings.all().delete()
    gone.delete()
    # A request moved to the other community, with its resolutions.
    other = Category.objects.get(community=community_b, name="代开药")
    ServiceRequest.objects.filter(pk=rows["reopened"].pk).update(community=community_b, category=other)
    # The running month: one not accepted and due in two hours, one accepted "in an hour" (a clock ahead),
    # one answered ahead of time; a backdated resolution into an earlier week.
    medicine = Category.objects.get(community=community_a, name="代开药")
    due_soon = new_request(
        community_a, medicine, head_a, received=now - 22 * H, status=Status.NEW, assignee=worker_a
    )
    ahead = new_request(community_a, medicine, head_a, received=now - H, accepted=now + H, assignee=worker_a)
    answered_ahead = new_request(
        community_a,
        medicine,
        head_a,
        received=now - 2 * H,
        accepted=now - H,
        status=Status.CLOSED,
        closed=now,
    )
    answer(
        answered_ahead, head_a, at=now + 30 * dt.timedelta(minutes=1), solved=True, satisfaction="satisfied"
    )
    event(ahead, at=now - 20 * D, old=Status.ACCEPTED, new=Status.RESOLVED, actor=worker_a.user)
    event(ahead, at=now - 19 * D, old=Status.ACCEPTED, new=Status.RESOLVED, actor=worker_a.user)

    later = timezone.now()
    for at in (later, later + 90 * dt.timedelta(minutes=1), later + 3 * H, later + 2 * D):
        assert_summary_is_live([community_a], at)
        assert_summary_is_live([community_b], at)
        assert_summary_is_live([community_a, community_b], at)
    # Steps: the deadline two hours ahead passes and the acceptance "in an hour" comes, with no write in
    # between — both count three hours later. Only when both were received in the running month and it
    # still runs three hours later: not in a month's first 22 hours nor in its last three.
    before = figure_selectors.rate_tables([community_a], running, later).total["response_den"]
    after = figure_selectors.rate_tables([community_a], running, later + 3 * H).total["response_den"]
    if Period.containing(due_soon.received_at) == running == Period.containing(later + 3 * H):
        assert after == before + 2
        assert SummaryMonth.objects.filter(at__isnull=False).exists()
    assert due_soon.pk


@postgres
def test_rebuild_gives_the_tables_the_triggers_kept(
    desk, community_a, community_b, worker_a, head_a, building_a
):
    now = timezone.now()
    bulk_requests(
        community_a, head_a, worker_a, building_a, 200, start=Period.containing(now).previous().start
    )
    ServiceRequest.objects.filter(community=community_a, status=Status.NEW).update(
        status=Status.ACCEPTED, accepted_at=F("received_at") + 30 * dt.timedelta(minutes=1)
    )
    kept = table_snapshot()
    counts = summary_rebuild()
    assert counts["stations_summarymonth"] > 0
    after = timezone.now()
    assert totals(table_snapshot(), after) == totals(kept, after)
    assert_summary_is_live([community_a, community_b], after)


@postgres
def test_a_cut_off_before_the_last_write_is_counted_live(desk, community_a, head_a, worker_a):
    medicine = Category.objects.get(community=community_a, name="代开药")
    now = timezone.now()
    # Received, then the cut-off, then the write: all in the running month, even in its first hour.
    start = Period.containing(now).start
    received = max(now - H, start + (now - start) / 3)
    earlier = max(now - 30 * dt.timedelta(minutes=1), start + 2 * (now - start) / 3)
    new_request(community_a, medicine, head_a, received=received, assignee=worker_a)
    period = Period.containing(earlier)
    assert period == Period.containing(now)
    assert figure_selectors._summary_rows([community_a], period, earlier) is None
    rows = figure_selectors.period_rows([community_a], period, earlier)
    assert keyed(rows) == keyed(figure_selectors.live_period_rows([community_a], period, earlier))


@postgres
def test_a_write_racing_the_trend_recounts_only_its_day(desk, community_a, head_a, worker_a):
    """A write committed after the page's cut-off makes today's settled row newer than the cut-off: the
    trend still reads every earlier day from the summary and counts only today, live, in two queries —
    with the same weeks as counting all twelve live (a request resolved earlier in its week and again
    today is counted once)."""
    medicine = Category.objects.get(community=community_a, name="代开药")
    now = timezone.now()
    today = timezone.localdate(now)
    midnight = table_selectors._local_midnight(today)
    cutoff = midnight + 2 * (now - midnight) / 3
    first_today = new_request(
        community_a, medicine, head_a, received=midnight + (now - midnight) / 3, assignee=worker_a
    )
    event(first_today, at=midnight + (now - midnight) / 2, old=Status.ACCEPTED, new=Status.RESOLVED)
    again = new_request(community_a, medicine, head_a, received=now - 10 * D, assignee=worker_a)
    event(again, at=midnight - H, old=Status.ACCEPTED, new=Status.RESOLVED)  # yesterday (last week on Monday)
    event(again, at=midnight + (now - midnight) / 2, old=Status.ACCEPTED, new=Status.RESOLVED)
    new_request(community_a, medicine, head_a, received=now, assignee=worker_a)  # the racing write
    settled = SummaryDay.objects.get(community=community_a, day=today, at__isnull=True).settled_until
    assert settled >= cutoff

    first_monday, _low, _mondays = table_selectors._trend_window(cutoff, 12)
    with CaptureQueriesContext(connection) as queries:
        got = table_selectors._summary_trend([community_a], cutoff, first_monday)
    assert got is not None
    assert len(queries) == 3
    live = table_selectors.live_weekly_trend([community_a], cutoff)
    assert [(got[0].get(row["week"], 0), got[1].get(row["week"], 0)) for row in live] == [
        (row["received"], row["resolved"]) for row in live
    ]
    this_week = live[-1]
    assert this_week["received"] >= 1 and this_week["resolved"] >= 2


@postgres
def test_the_generators_copy_keeps_the_summary_exact():
    out = StringIO()
    call_command(
        "generate_district",
        "--communities",
        "2",
        "--residents",
        "400",
        "--requests",
        "1500",
        stdout=out,
    )
    call_command("dashboard_summary", "--check", "--months", "4", stdout=out)
    assert "equals live counts" in out.getvalue()


@postgres
def test_a_bulk_load_with_the_triggers_paused_ends_with_a_rebuild(community_a, head_a, worker_a, building_a):
    categories_seed(community=community_a)
    with summary_paused():
        bulk_requests(
            community_a,
            head_a,
            worker_a,
            building_a,
            120,
            start=Period.containing(timezone.now()).previous().start,
        )
        assert not SummaryMonth.objects.exists()  # nothing kept meanwhile
    assert SummaryMonth.objects.exists()
    assert_summary_is_live([community_a], timezone.now())


def test_without_the_summary_the_pages_count_live(settings, desk, community_a, monkeypatch):
    # SQLite (and any database without the triggers): period_rows is the live count.
    monkeypatch.setattr(figure_selectors, "summary_supported", lambda: False)
    now = timezone.now()
    rows = figure_selectors.period_rows([community_a], desk.period, now)
    assert keyed(rows) == keyed(figure_selectors.live_period_rows([community_a], desk.period, now))


# --- Care and spaces: the same numbers as the functions they stand in for ------------------------------------


def test_care_count_equals_visits_overdue(community_a, head_a, subdistrict_a, worker_a, building_a):
    community_b = factories.CommunityFactory(subdistrict=community_a.subdistrict, code="AZL")
    weekly = factories.CareTagFactory()  # visit every 7 days
    monthly = factories.CareTagFactory(code="disabled", name="残疾人", visit_cadence_days=30)
    untimed = factories.CareTagFactory(code="low-income", name="低保", visit_cadence_days=None)
    now = timezone.now()
    people = []
    for i in range(8):
        household = factories.HouseholdFactory(building=building_a)
        resident = factories.ResidentFactory(household=household)
        people.append(resident)
        if i % 4 == 0:
            resident.care_tags.add(weekly)
        elif i % 4 == 1:
            resident.care_tags.add(monthly)
        elif i % 4 == 2:
            resident.care_tags.add(weekly, monthly)  # the smaller cadence counts
        else:
            resident.care_tags.add(untimed)  # no cadence: never due
        if i >= 4:  # visited 10 days ago: overdue on the weekly cadence only
            Visit.objects.create(
                community=community_a,
                household=household,
                building=building_a,
                worker=worker_a,
                visited_at=now - 10 * D,
            )
    unhoused = factories.ResidentFactory(household=None, community=community_a)
    unhoused.care_tags.add(weekly)
    elsewhere = factories.ResidentFactory(
        household=factories.HouseholdFactory(building=factories.BuildingFactory(community=community_b))
    )
    elsewhere.care_tags.add(weekly)
    expected = {
        c.pk: visits_overdue(subdistrict_a, now=now).filter(community=c).count()
        for c in (community_a, community_b)
    }
    got = table_selectors.care_overdue_counts(subdistrict_a, [community_a, community_b], now)
    assert {pk: got.get(pk, 0) for pk in expected} == expected
    assert expected[community_a.pk] == 5  # never visited: 3 with a cadence; visited 10 days ago: 2 weekly
    live, care = table_selectors.now_counts(subdistrict_a, [community_a, community_b], now)
    assert care == got


def assert_care_is_live(user, communities, now: dt.datetime) -> None:
    """The care count equals visits_overdue, and the triggers' SummaryCare rows are the rebuild's."""
    expected = {c.pk: visits_overdue(user, now=now).filter(community=c).count() for c in communities}
    got = table_selectors.care_overdue_counts(user, communities, now)
    assert {pk: got.get(pk, 0) for pk in expected} == expected
    assert set(got) <= {pk for pk, n in expected.items() if n}
    columns = ("community", "household", "cadence_days", "residents", "last_visit")
    kept = set(SummaryCare.objects.values_list(*columns))
    care_summary_rebuild()
    assert set(SummaryCare.objects.values_list(*columns)) == kept


@postgres
def test_care_summary_follows_visits_tags_cadences_and_moves(
    community_a, subdistrict_a, worker_a, building_a
):
    community_b = factories.CommunityFactory(subdistrict=community_a.subdistrict, code="AZL")
    building_b = factories.BuildingFactory(community=community_b)
    communities = [community_a, community_b]
    weekly = factories.CareTagFactory()
    monthly = factories.CareTagFactory(code="disabled", name="残疾人", visit_cadence_days=30)
    untimed = factories.CareTagFactory(code="low-income", name="低保", visit_cadence_days=None)
    now = timezone.now()
    homes = [factories.HouseholdFactory(building=building_a) for _ in range(4)]
    people = [factories.ResidentFactory(household=homes[i % 4]) for i in range(8)]

    def visit(household, days_ago):
        return Visit.objects.create(
            community=community_a,
            household=household,
            building=household.building,
            worker=worker_a,
            visited_at=now - days_ago * D,
        )

    # Tags added one by one, several at once, and a tag without a cadence.
    people[0].care_tags.add(weekly)
    people[1].care_tags.add(weekly, monthly)
    people[2].care_tags.add(monthly)
    people[3].care_tags.add(untimed)
    people[4].care_tags.set([monthly, untimed])
    assert_care_is_live(subdistrict_a, communities, now)
    # Visits: one, then a later one, a backdated one, many at once, one moved to another household.
    first = visit(homes[0], 10)
    visit(homes[0], 3)
    visit(homes[1], 40)
    Visit.objects.bulk_create(
        Visit(
            community=community_a, household=h, building=building_a, worker=worker_a, visited_at=now - 20 * D
        )
        for h in homes[1:]
    )
    assert_care_is_live(subdistrict_a, communities, now)
    Visit.objects.filter(pk=first.pk).update(visited_at=now - D)
    Visit.objects.filter(household=homes[2]).update(household=homes[3])
    assert_care_is_live(subdistrict_a, communities, now)
    Visit.objects.filter(household=homes[0], visited_at__gt=now - 2 * D).delete()
    assert_care_is_live(subdistrict_a, communities, now)
    # Residents move: to another household, out of any household, to another community.
    people[1].household = homes[3]
    people[1].save()
    people[2].household = None
    people[2].save()
    Resident.objects.filter(pk=people[0].pk).update(
        community=community_b, household=factories.HouseholdFactory(building=building_b)
    )
    assert_care_is_live(subdistrict_a, communities, now)
    # Cadences change, a tag loses its cadence, another gains one, a tag is deleted.
    CareTag.objects.filter(pk=monthly.pk).update(visit_cadence_days=15)
    assert_care_is_live(subdistrict_a, communities, now)
    CareTag.objects.filter(pk=weekly.pk).update(visit_cadence_days=None)
    CareTag.objects.filter(pk=untimed.pk).update(visit_cadence_days=60)
    assert_care_is_live(subdistrict_a, communities, now)
    monthly.delete()
    assert_care_is_live(subdistrict_a, communities, now)
    # Tags removed and cleared (erasure), a resident deleted, a new resident with tags.
    people[4].care_tags.remove(untimed)
    people[3].care_tags.clear()
    people[5].care_tags.add(untimed)
    people[6].care_tags.add(untimed)
    people[6].delete()
    newcomer = factories.ResidentFactory(household=homes[1])
    newcomer.care_tags.add(untimed)
    assert_care_is_live(subdistrict_a, communities, now)
    assert SummaryCare.objects.filter(community=community_a).exists()
    # Later, without any write: the same rows, more of them overdue.
    assert_care_is_live(subdistrict_a, communities, now + 50 * D)


@postgres
@pytest.mark.django_db(transaction=True)
def test_care_writes_at_the_same_time_see_each_other(community_a, subdistrict_a, worker_a, building_a):
    """A care tag and a visit of one household written at once, each in its own transaction: the visit's
    trigger waits for the tag's transaction to commit, then reads the tag, so the summary has both."""
    tag = factories.CareTagFactory()
    household = factories.HouseholdFactory(building=building_a)
    resident = factories.ResidentFactory(household=household)
    tagged = threading.Event()
    errors = []

    def add_tag() -> None:
        try:
            with transaction.atomic():
                resident.care_tags.add(tag)
                tagged.set()
                time.sleep(0.5)  # the visit is written meanwhile
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    def record_visit() -> None:
        try:
            assert tagged.wait(10)
            Visit.objects.create(
                community=community_a,
                household=household,
                building=building_a,
                worker=worker_a,
                visited_at=timezone.now() - D,
            )
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add_tag), threading.Thread(target=record_visit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert SummaryCare.objects.get(household=household).last_visit is not None
    assert_care_is_live(subdistrict_a, [community_a], timezone.now())


@postgres
@pytest.mark.django_db(transaction=True)
def test_care_writes_of_another_community_do_not_wait(community_a, subdistrict_a, worker_a, building_a):
    """A long care write in one community (an import setting care tags, still open) does not hold up a visit
    recorded in another community; a visit in the same community waits for it, then sees its tag."""
    tag = factories.CareTagFactory()
    household = factories.HouseholdFactory(building=building_a)
    resident = factories.ResidentFactory(household=household)
    other = factories.CommunityFactory(subdistrict=community_a.subdistrict, code="OTH")
    other_building = factories.BuildingFactory(community=other)
    other_household = factories.HouseholdFactory(building=other_building)
    factories.ResidentFactory(household=other_household).care_tags.add(tag)
    other_worker = factories.make_worker(community=other, worker_type=WorkerType.LIAISON, username="oth_w")
    tagged, release = threading.Event(), threading.Event()
    errors, waited = [], {}

    def long_import() -> None:
        try:
            with transaction.atomic():
                resident.care_tags.add(tag)  # takes community A's care lock until commit
                tagged.set()
                assert release.wait(10)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    def visit(name, community, building, household_, worker) -> None:
        try:
            assert tagged.wait(10)
            start = time.monotonic()
            Visit.objects.create(
                community=community,
                household=household_,
                building=building,
                worker=worker,
                visited_at=timezone.now(),
            )
            waited[name] = time.monotonic() - start
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    importer = threading.Thread(target=long_import)
    importer.start()
    elsewhere = threading.Thread(
        target=visit, args=("other", other, other_building, other_household, other_worker)
    )
    elsewhere.start()
    elsewhere.join(10)
    assert "other" in waited and waited["other"] < 1  # done while the import is still open
    same = threading.Thread(target=visit, args=("same", community_a, building_a, household, worker_a))
    same.start()
    time.sleep(0.5)
    assert "same" not in waited  # waits for community A's lock
    release.set()
    for thread in (importer, same):
        thread.join(10)
    assert not errors and "same" in waited
    assert SummaryCare.objects.get(household=household).last_visit is not None
    assert SummaryCare.objects.get(household=other_household).last_visit is not None
    assert_care_is_live(subdistrict_a, [community_a, other], timezone.now())


def test_spaces_section_equals_space_utilisation(head_a, resident_a, community_a, worker_a):
    period = Period.containing(timezone.now())
    build_spaces(community_a, period, head_a, resident_a)
    today = timezone.localdate()
    mine = space_usage([community_a], today)
    theirs = space_utilisation([community_a], weeks=1, today=today)
    assert [(u.space.pk, vars(u.weeks[0]), vars(u.month)) for u in mine] == [
        (u.space.pk, vars(u.weeks[0]), vars(u.month)) for u in theirs
    ]
    # A past month: "this week" is its last week.
    past = period.previous().previous()
    sibling = factories.CommunityFactory(subdistrict=community_a.subdistrict, code="AZL")
    neighbour = factories.ResidentFactory(
        household=factories.HouseholdFactory(building=factories.BuildingFactory(community=sibling))
    )
    build_spaces(sibling, past, head_a, neighbour)
    last_day = timezone.localdate(past.end - dt.timedelta(microseconds=1))
    assert [(vars(u.weeks[0]), vars(u.month)) for u in space_usage([sibling], last_day)] == [
        (vars(u.weeks[0]), vars(u.month)) for u in space_utilisation([sibling], weeks=1, today=last_day)
    ]
    section = spaces_section([community_a, sibling], past, timezone.now())
    assert section["areas"]["office_m2"] == 150 and section["areas"]["service_m2"] == 870
    assert [row["month_booked_hours"] for row in section["rows"]] == [0, 7]


# --- Queries per page -----------------------------------------------------------------------------------------


def _count(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@postgres
@pytest.mark.parametrize("page", ["dashboard", "subdistrict"])
def test_pages_cost_at_most_15_queries_for_10_and_1000_requests(
    page, as_user, head_a, subdistrict_a, worker_a, building_a, community_a, resident_a
):
    categories_seed(community=community_a)
    factories.make_worker(community=community_a, worker_type=WorkerType.GOVERNMENT, username="gov")
    factories.CareTagFactory()
    resident_a.care_tags.add(factories.CareTagFactory())
    sibling = factories.CommunityFactory(subdistrict=community_a.subdistrict, code="AZL")
    period = Period.containing(timezone.now())
    build_spaces(community_a, period, head_a, resident_a)
    client = as_user(head_a if page == "dashboard" else subdistrict_a)
    url = reverse("stations:dashboard" if page == "dashboard" else "stations:subdistrict_dashboard")
    counts = []
    for n, start in ((10, period.previous().start), (990, period.previous().start + 3 * H)):
        bulk_requests(community_a, head_a, worker_a, building_a, n, start=start)
        client.get(url)  # warm the per-process caches (content types, permissions)
        counts += [_count(client, url, {}), _count(client, url, {"period": period.previous().key})]
    assert ServiceRequest.objects.filter(community=community_a).count() == 1000
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 15, counts
    assert sibling.pk


@postgres
def test_pages_read_the_summary_not_the_requests(as_user, head_a, subdistrict_a, desk):
    """The period figures, the trend and the resolutions come from the summary tables: no query of the page
    aggregates the requests' period columns or joins resolutions to requests."""
    for user, url in ((head_a, "stations:dashboard"), (subdistrict_a, "stations:subdistrict_dashboard")):
        client = as_user(user)
        client.get(reverse(url))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(url), {"period": desk.period.key}).status_code == 200
        sql = [q["sql"] for q in queries.captured_queries]
        assert any("stations_summarymonth" in s for s in sql)
        assert any("stations_summaryday" in s for s in sql)
        assert not any('"stations_requestevent"' in s for s in sql)
        assert not any('"rated_at" <' in s for s in sql)  # no rate counted over the requests
