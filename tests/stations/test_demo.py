"""The demo data: loads, is valid, tells a true history at the desk, and a second run changes nothing.

Loading takes most of the time of this module, so it is loaded once per module inside a transaction
that is rolled back at the end; each test runs in a savepoint within it."""

import datetime as dt
import random
from collections import defaultdict
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Min
from django.test import TestCase, override_settings
from django.utils import timezone

from community.lib.validators import (
    birth_date_from_id,
    gender_from_id,
    normalize_credit_code,
    normalize_id_number,
    normalize_phone,
)
from residents.choices import BuildingKind
from residents.models import Building, Community, Enterprise, Household, Membership, Resident
from stations.choices import (
    ACTIVE_BOOKING_STATES,
    OPEN_STATES,
    AttendanceStatus,
    BookingKind,
    BookingStatus,
    Channel,
    EnrolmentStatus,
    EventKind,
    ExtensionStatus,
    RatingSource,
    Role,
    Satisfaction,
    SpaceKind,
    StationLine,
    Status,
    WorkerType,
)
from stations.demo import DEMO_LOGINS, DEMO_PASSWORD, People, demo_counts
from stations.demo.spaces import next_holiday
from stations.demo.staff import demo_password_hash
from stations.models import (
    Attendance,
    Booking,
    BookingSeries,
    ClosedDate,
    Course,
    Enrolment,
    Extension,
    Leave,
    Notification,
    OpeningHours,
    Rating,
    RecurringErrand,
    RequestEvent,
    ServiceRequest,
    SocialWorker,
    Space,
    Visit,
)

pytestmark = pytest.mark.django_db
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module", autouse=True)
def demo(django_db_setup, django_db_blocker) -> str:
    """The demo, loaded once for the module and rolled back after it; returns what load_demo printed."""
    # Like the autouse fixture of each test (which runs later): fast hashing, and one hash for all.
    demo_password_hash.cache_clear()
    with django_db_blocker.unblock(), transaction.atomic():
        out = StringIO()
        # The notifications are written after commit: run those callbacks as a commit would.
        with (
            override_settings(PASSWORD_HASHERS=FAST_HASHERS),
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            call_command("load_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)
    demo_password_hash.cache_clear()


def _snapshot() -> dict:
    """Counts plus the rows a re-run could plausibly touch, so 'nothing changed' is checked exactly."""
    return {
        "counts": demo_counts(),
        "residents": list(
            Resident.objects.order_by("pk").values_list(
                "pk", "name", "id_number", "phone", "household_id", "employer_id", "user_id"
            )
        ),
        "tags": sorted(Resident.care_tags.through.objects.values_list("resident_id", "caretag_id")),
        "buildings": list(Building.objects.order_by("pk").values_list("pk", "number", "entrances", "kind")),
        "workers": sorted(
            SocialWorker.objects.values_list("user__username", "worker_type", "buildings__number")
        ),
        "memberships": sorted(
            Membership.objects.values_list("user__username", "community__code", "subdistrict__name")
        ),
        "users": sorted(
            User.objects.values_list("username", "password", "first_name", "is_staff", "is_superuser")
        ),
        "enterprises": sorted(Enterprise.objects.values_list("credit_code", "name", "contact_phone")),
        "requests": list(
            ServiceRequest.objects.order_by("pk").values_list(
                "pk", "status", "assignee_id", "resolution_due_at", "updated_at", "version"
            )
        ),
        "events": RequestEvent.objects.count(),
        "visits": list(Visit.objects.order_by("pk").values_list("pk", "visited_at")),
        "errands": list(RecurringErrand.objects.order_by("pk").values_list("pk", "next_due_on")),
        "leaves": list(Leave.objects.values_list("worker_id", "starts_on", "ends_on")),
        "office areas": sorted(Community.objects.values_list("code", "office_area_m2")),
        "spaces": list(Space.objects.order_by("pk").values_list("pk", "name", "area_m2", "feed_token")),
        "opening hours": OpeningHours.objects.count(),
        "closed dates": list(ClosedDate.objects.order_by("pk").values_list("space_id", "date")),
        "courses": list(Course.objects.order_by("pk").values_list("pk", "title", "capacity")),
        "bookings": list(
            Booking.objects.order_by("pk").values_list(
                "pk", "kind", "status", "starts_at", "resident_id", "created_at", "updated_at"
            )
        ),
        "series": BookingSeries.objects.count(),
        "enrolments": list(Enrolment.objects.order_by("pk").values_list("pk", "status", "created_at")),
        "attendance": list(Attendance.objects.order_by("pk").values_list("pk", "status", "recorded_at")),
    }


def test_second_run_adds_and_changes_nothing():
    first = _snapshot()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert _snapshot() == first
    assert "households already loaded, skipped" in out.getvalue()
    assert "requests already loaded, desk skipped" in out.getvalue()
    assert out.getvalue().count("spaces already loaded, skipped") == 2


def test_registry_is_valid():
    anhuali = Community.objects.get(code="AHL")
    assert anhuali.name == "安华里社区"
    assert anhuali.subdistrict.name == "安贞街道"
    assert Community.objects.get(code="HMZX").subdistrict.name == "八里庄街道"
    buildings = Building.objects.filter(community=anhuali)
    assert buildings.count() == 22
    assert 2100 <= Household.objects.filter(building__community=anhuali).count() <= 2400

    workers = SocialWorker.objects.filter(community=anhuali)
    assert workers.count() == 12
    for worker_type in WorkerType.values:
        assert workers.filter(worker_type=worker_type).count() == 4
        # Every building has a worker of each type (包片), the liaison workers first of all.
        assert not buildings.exclude(responsible_workers__worker_type=worker_type).exists()
    assert SocialWorker.objects.filter(community__code="HMZX").count() == 6
    assert not Building.objects.filter(community__code="HMZX", responsible_workers__isnull=True).exists()

    for resident in Resident.objects.exclude(id_number=""):
        assert normalize_id_number(resident.id_number) == resident.id_number
        assert birth_date_from_id(resident.id_number) == resident.birth_date
        assert gender_from_id(resident.id_number) == resident.gender
    for phone in Resident.objects.exclude(phone="").values_list("phone", flat=True):
        assert normalize_phone(phone) == phone
    for code in Enterprise.objects.values_list("credit_code", flat=True):
        assert normalize_credit_code(code) == code
    assert Resident.objects.filter(name="阿依古丽·买买提").exists()
    assert Resident.objects.filter(name__contains="\U00020bb7").exists()
    foreign = Resident.objects.filter(
        household__building__kind=BuildingKind.APARTMENT, id_number="", name__regex=r"^[A-Za-z]"
    )
    assert foreign.exists()
    assert Resident.objects.filter(community__code="HMZX", employer__isnull=False).count() >= 15


def test_demo_logins_have_their_roles_and_scopes():
    users = {
        user.username: user for user in User.objects.filter(username__in=[x.username for x in DEMO_LOGINS])
    }
    assert set(users) == {login.username for login in DEMO_LOGINS}
    for login in DEMO_LOGINS:
        user = users[login.username]
        assert set(user.groups.values_list("name", flat=True)) == ({login.role} if login.role else set())
        membership = Membership.objects.filter(user=user).first()
        if login.community_code:
            assert membership.community.code == login.community_code
        elif login.subdistrict:
            assert membership.subdistrict.name == login.subdistrict
        else:
            assert membership is None
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert not users["head"].is_staff and not users["head"].is_superuser
    assert users["head"].first_name
    assert users["worker"].check_password(DEMO_PASSWORD)

    worker = users["worker"].social_worker
    assert worker.worker_type == WorkerType.LIAISON
    assert worker.community.code == "AHL"
    assert sorted(worker.buildings.values_list("position", flat=True)) == [1, 2, 3, 4, 5, 6]
    resident = users["resident"].resident
    assert resident.community.code == "AHL"
    assert users["resident"].first_name == resident.name
    assert set(User.objects.filter(social_worker__isnull=False).values_list("groups__name", flat=True)) == {
        Role.WORKER
    }
    # Residents with a login of their own are residents, scoped to their community.
    portal = User.objects.filter(resident__isnull=False)
    assert portal.count() > 40
    assert set(portal.values_list("groups__name", flat=True)) == {Role.RESIDENT}
    assert not portal.exclude(membership__community=F("resident__community")).exists()


def test_requests_cover_every_status_channel_and_line_in_both_communities(demo):
    assert "安华里社区: 600 requests" in demo
    for code, count in (("AHL", 600), ("HMZX", 250)):
        requests = ServiceRequest.objects.filter(community__code=code)
        assert requests.count() == count
        assert set(requests.values_list("status", flat=True)) == set(Status.values)
        assert set(requests.values_list("channel", flat=True)) == set(Channel.values)
        assert set(requests.values_list("category__community__code", flat=True)) == {code}
    huamao = ServiceRequest.objects.filter(community__code="HMZX")
    assert set(huamao.values_list("line", flat=True)) == set(StationLine.values)
    business = huamao.filter(line=StationLine.BUSINESS)
    assert business.count() >= 40
    assert business.filter(requester_enterprise__isnull=False).count() >= business.count() * 0.8
    assert (
        not ServiceRequest.objects.filter(requester_enterprise__isnull=False)
        .exclude(requester__employer=F("requester_enterprise"))
        .exists()
    )

    # Walk-ins not in the registry leave a name and a valid phone.
    strangers = ServiceRequest.objects.filter(requester__isnull=True).exclude(contact_name="")
    assert strangers.count() >= 20
    for phone in strangers.values_list("contact_phone", flat=True):
        assert normalize_phone(phone) == phone
    # Errands and visits are run for care-tagged residents; titles say whom for.
    errands = ServiceRequest.objects.filter(category__name="代开药")
    assert errands.filter(requester__care_tags__isnull=False).distinct().count() >= errands.count() * 0.9
    assert errands.filter(title__regex=r"[奶爷]").exists()
    cancelled = ServiceRequest.objects.filter(status=Status.CANCELLED)
    assert not cancelled.filter(cancel_reason="").exists()
    assert not cancelled.filter(closed_at__isnull=True).exists()


def test_requests_have_a_true_history():
    now = timezone.now()
    requests = ServiceRequest.objects.all()
    created = RequestEvent.objects.filter(kind=EventKind.CREATED)
    assert created.count() == requests.count()
    assert not created.exclude(at=F("request__received_at")).exists()
    assert not RequestEvent.objects.filter(at__gt=now).exists()
    oldest = timezone.localdate(requests.aggregate(first=Min("received_at"))["first"])
    assert (
        timezone.localdate() - dt.timedelta(days=130)
        <= oldest
        <= timezone.localdate() - dt.timedelta(days=100)
    )
    # Busier on working days: Monday to Friday bring far more than the weekend.
    weekdays = [timezone.localtime(at).weekday() for at in requests.values_list("received_at", flat=True)]
    assert sum(day < 5 for day in weekdays) > 3 * sum(day >= 5 for day in weekdays)

    # Each timeline runs forward from the intake, and the request's own stamps match its events.
    timelines = defaultdict(list)
    for request_id, kind, at, new_status in RequestEvent.objects.order_by("pk").values_list(
        "request_id", "kind", "at", "new_status"
    ):
        timelines[request_id].append((kind, at, new_status))
    for service_request in requests.only(
        "pk", "received_at", "accepted_at", "resolved_at", "closed_at", "status"
    ):
        events = timelines[service_request.pk]
        assert events[0][0] == EventKind.CREATED
        times = [at for _kind, at, _status in events]
        assert times == sorted(times), service_request.pk
        accepted = [
            at for kind, at, status in events if kind == EventKind.STATUS and status == Status.ACCEPTED
        ]
        assert service_request.accepted_at == (accepted[0] if accepted else None)
        if service_request.status == Status.CLOSED:
            assert service_request.closed_at == times[-1]

    accepted = requests.filter(accepted_at__isnull=False)
    on_time = accepted.filter(accepted_at__lte=F("response_due_at")).count() / accepted.count()
    assert 0.8 <= on_time <= 0.97
    resolved = requests.filter(resolved_at__isnull=False)
    assert resolved.filter(resolved_at__lte=F("resolution_due_at")).count() / resolved.count() >= 0.75
    overdue = requests.filter(status__in=OPEN_STATES, resolution_due_at__lt=now).count()
    assert 0.005 * requests.count() <= overdue <= 0.06 * requests.count()

    ratings = Rating.objects.all()
    assert ratings.count() >= 0.8 * requests.count()
    assert ratings.filter(source=RatingSource.REQUESTER).exists()
    assert ratings.filter(source=RatingSource.CALLBACK, recorded_by__social_worker__isnull=False).exists()
    assert ratings.filter(satisfaction=Satisfaction.SATISFIED).count() > 0.75 * ratings.count()
    assert ratings.filter(satisfaction=Satisfaction.BASIC).exists()
    assert not ratings.filter(at__gt=now).exists()
    # Dissatisfied answers sent requests back to work; most have been resolved again since.
    reworked = requests.filter(rework_count__gt=0)
    assert reworked.count() >= 5
    assert reworked.filter(status=Status.CLOSED).count() >= reworked.count() * 0.7
    assert RequestEvent.objects.filter(kind=EventKind.REOPENED).count() == reworked.count()
    assert requests.filter(urge_count__gt=0).exists()
    pending = Extension.objects.filter(status=ExtensionStatus.PENDING)
    assert pending.count() >= 2
    assert not pending.exclude(request__status__in=OPEN_STATES).exists()
    assert Extension.objects.filter(status=ExtensionStatus.APPROVED).exists()
    # Notifications are dated like their events; those of old events have been read.
    notifications = Notification.objects.all()
    assert notifications.count() >= requests.count() * 0.5
    assert not notifications.exclude(created_at=F("event__at")).exists()
    assert not notifications.filter(read_at__isnull=True, event__at__lt=now - dt.timedelta(days=4)).exists()
    assert notifications.filter(read_at__isnull=True).exists()


def test_visits_errands_and_a_leave():
    visits = Visit.objects.select_related("worker").prefetch_related("worker__buildings")
    assert 280 <= visits.count() <= 320
    today = timezone.localdate()
    assert timezone.localdate(visits.aggregate(first=Min("visited_at"))["first"]) >= today - dt.timedelta(
        days=91
    )
    for visit in visits:
        assert visit.worker.worker_type == WorkerType.LIAISON
        assert visit.building in visit.worker.buildings.all()
        assert visit.household.building_id == visit.building_id
    raised = ServiceRequest.objects.filter(source_visit__isnull=False)
    assert raised.count() >= 10
    assert not raised.exclude(channel=Channel.VISIT).exists()
    assert not raised.exclude(received_at=F("source_visit__visited_at")).exists()
    assert not raised.exclude(household=F("source_visit__household")).exists()

    # Some care-tagged households are up to date with their visits, many are overdue.
    up_to_date = overdue = 0
    last_visit = {}
    for household_id, at in Visit.objects.order_by("visited_at").values_list("household_id", "visited_at"):
        last_visit[household_id] = at
    now = timezone.now()
    for household_id, cadence in Resident.objects.filter(
        care_tags__visit_cadence_days__isnull=False
    ).values_list("household_id", "care_tags__visit_cadence_days"):
        at = last_visit.get(household_id)
        if at is not None and now - at <= dt.timedelta(days=cadence):
            up_to_date += 1
        else:
            overdue += 1
    assert up_to_date >= 20
    assert overdue > up_to_date

    errands = RecurringErrand.objects.select_related("resident")
    assert 3 <= errands.count() <= 4
    for errand in errands:
        assert errand.every_days == 14
        assert errand.resident.care_tags.filter(code="elderly-alone").exists()
        assert today <= errand.next_due_on <= today + dt.timedelta(days=14)
        assert errand.requests.count() >= 4
        assert not errand.requests.exclude(channel=Channel.PROACTIVE).exists()

    leave = Leave.objects.get()
    assert leave.worker.user.username == "ahl_sg02"
    assert leave.cover.user.username == "worker"
    assert leave.starts_on <= today <= leave.ends_on
    assert not ServiceRequest.objects.filter(assignee=leave.worker, status__in=OPEN_STATES).exists()
    handed_over = RequestEvent.objects.filter(kind=EventKind.HANDOVER, old_assignee=leave.worker)
    assert handed_over.exists()
    assert not handed_over.exclude(new_assignee=leave.cover).exists()


def test_people_are_reproducible_from_the_seed():
    community = Community(code="X", name="X")

    def families(seed: int) -> list[list[tuple]]:
        people = People(random.Random(seed), community=community, used_ids=set())
        return [
            [
                (m.resident.name, m.resident.id_number, m.resident.phone, m.resident.relation)
                for m in people.family(size=size)
            ]
            for size in (1, 2, 3, 4, 4)
        ]

    assert families(7) == families(7)
    assert families(7) != families(8)


def test_spaces_huamao_turned_its_office_into_activity_space():
    huamao = Community.objects.get(code="HMZX")
    assert huamao.office_area_m2 == 75
    assert Community.objects.get(code="AHL").office_area_m2 == 60
    spaces = {space.kind: space for space in Space.objects.filter(community=huamao)}
    assert set(spaces) == {SpaceKind.DISCUSSION, SpaceKind.PUBLIC_WELFARE, SpaceKind.ACTIVITY_HALL}
    assert sum(space.area_m2 for space in spaces.values()) == 435
    assert spaces[SpaceKind.ACTIVITY_HALL].area_m2 == 240
    for space in spaces.values():
        assert space.description and space.open_to_residents and space.open_to_enterprise_staff
    discussion = spaces[SpaceKind.DISCUSSION]
    assert discussion.name == "议事空间" and discussion.requires_approval
    assert set(discussion.opening_hours.values_list("weekday", flat=True)) == {0, 1, 2, 3, 4}
    hall = spaces[SpaceKind.ACTIVITY_HALL]
    assert set(hall.opening_hours.values_list("weekday", "opens", "closes")) == {
        *((day, dt.time(8, 30), dt.time(21)) for day in range(5)),
        *((day, dt.time(9), dt.time(17)) for day in (5, 6)),
    }
    for community in Community.objects.all():
        assert Space.objects.filter(community=community).count() >= 2
        assert Course.objects.filter(community=community).exists()
    # Closed only on a public holiday ahead, if there is one in the next four weeks.
    for closed in ClosedDate.objects.all():
        assert closed.date > timezone.localdate() and closed.date.weekday() < 5


def test_spaces_close_on_the_next_public_holiday():
    assert next_holiday(dt.date(2026, 9, 20)) == dt.date(2026, 9, 25)  # 中秋节
    assert next_holiday(dt.date(2026, 9, 26)) == dt.date(2026, 10, 1)  # 国庆节
    assert next_holiday(dt.date(2026, 4, 1)) == dt.date(2026, 4, 6)  # 清明节 (Monday off)
    assert next_holiday(dt.date(2026, 3, 2)) is None


def test_courses_fill_up_and_people_come():
    yoga = Course.objects.get(community__code="HMZX", title="瑜伽")
    assert yoga.space.kind == SpaceKind.ACTIVITY_HALL and yoga.teacher == "林老师"
    enrolled = yoga.enrolments.filter(status=EnrolmentStatus.ENROLLED)
    assert enrolled.count() == yoga.capacity == 20
    waiting = list(yoga.enrolments.filter(status=EnrolmentStatus.WAITLISTED).order_by("created_at", "pk"))
    assert 3 <= len(waiting) <= 4
    assert max(e.created_at for e in enrolled) < waiting[0].created_at
    # Residents and employees of the enterprises (who live elsewhere) do yoga together.
    assert enrolled.filter(resident__household__isnull=False).exists()
    assert enrolled.filter(resident__household__isnull=True, resident__employer__isnull=False).exists()
    assert Course.objects.filter(community__code="HMZX", title="民族舞").exists()
    assert Course.objects.filter(community__code="AHL").exists()

    now, today = timezone.now(), timezone.localdate()
    sessions = Booking.objects.filter(kind=BookingKind.COURSE)
    days = [timezone.localdate(at) for at in sessions.values_list("starts_at", flat=True)]
    assert today - dt.timedelta(days=28) <= min(days) < today - dt.timedelta(days=21)
    assert today + dt.timedelta(days=21) < max(days) <= today + dt.timedelta(days=28)
    yoga_days = {timezone.localtime(at).weekday() for at in yoga.sessions.values_list("starts_at", flat=True)}
    assert yoga_days == {1, 3}
    # Attendance for past sessions only, of those enrolled; most come.
    attendance = Attendance.objects.all()
    assert not attendance.filter(session__ends_at__gt=now).exists()
    assert not attendance.exclude(session__course__enrolments__resident=F("resident")).exists()
    assert not attendance.filter(resident__enrolments__status=EnrolmentStatus.WAITLISTED).exists()
    present = attendance.filter(status=AttendanceStatus.PRESENT).count() / attendance.count()
    assert 0.75 <= present <= 0.95
    past_yoga = yoga.sessions.filter(ends_at__lte=now).count()
    assert yoga.sessions.get(pk=yoga.sessions.filter(ends_at__lte=now).first().pk).attendance.count() == 20
    assert past_yoga >= 7


def test_bookings_show_every_state_without_overlap():
    now = timezone.now()
    bookings = Booking.objects.filter(kind=BookingKind.BOOKING)
    assert set(bookings.values_list("status", flat=True)) == set(BookingStatus.values) - {
        BookingStatus.REJECTED
    }
    pending = bookings.filter(status=BookingStatus.PENDING)
    assert not pending.exclude(space__requires_approval=True).exists()
    assert not pending.filter(starts_at__lte=now).exists()
    assert not bookings.filter(status=BookingStatus.CONFIRMED, ends_at__lte=now).exists()
    assert not bookings.filter(
        status__in=[BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW], starts_at__gt=now
    ).exists()
    assert not bookings.filter(status=BookingStatus.CHECKED_IN, checked_in_at__isnull=True).exists()
    assert not bookings.filter(resident__isnull=True).exists()
    assert not bookings.exclude(created_at__lte=F("starts_at")).exists()
    assert (
        bookings.filter(purpose="楼宇企业联席会").exists()
        or bookings.filter(purpose__endswith="团建活动").exists()
    )
    assert bookings.filter(resident__user__username="resident").count() >= 2
    # Residents with a login booked for themselves, the rest at the desk.
    assert bookings.filter(booked_by=F("resident__user")).exists()
    assert bookings.filter(booked_by__social_worker__isnull=False).exists()

    series = BookingSeries.objects.get(space__community__code="HMZX")
    assert series.bookings.count() >= 2
    assert {timezone.localtime(b.starts_at).weekday() for b in series.bookings.all()} == {2}
    blocks = Booking.objects.filter(kind=BookingKind.BLOCK)
    assert blocks.count() >= 2 and not blocks.filter(purpose="").exists()

    # Every booking, session and block holds its space inside opening hours, with no overlap.
    hours = defaultdict(list)
    for space_id, weekday, opens, closes in OpeningHours.objects.values_list(
        "space_id", "weekday", "opens", "closes"
    ):
        hours[(space_id, weekday)].append((opens, closes))
    closed = set(ClosedDate.objects.values_list("space_id", "date"))
    held = defaultdict(list)
    for booking in Booking.objects.filter(status__in=ACTIVE_BOOKING_STATES).order_by("starts_at"):
        start, end = timezone.localtime(booking.starts_at), timezone.localtime(booking.ends_at)
        assert start.date() == end.date() and (booking.space_id, start.date()) not in closed
        assert any(
            opens <= start.time() and end.time() <= closes
            for opens, closes in hours[(booking.space_id, start.weekday())]
        ), booking
        held[booking.space_id].append((booking.starts_at, booking.ends_at))
    for slots in held.values():
        for (_start, end), (next_start, _end) in zip(slots, slots[1:], strict=False):
            assert end <= next_start
