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
    OPEN_STATES,
    Channel,
    EventKind,
    ExtensionStatus,
    RatingSource,
    Role,
    Satisfaction,
    StationLine,
    Status,
    WorkerType,
)
from stations.demo import DEMO_LOGINS, DEMO_PASSWORD, People, demo_counts
from stations.demo.staff import demo_password_hash
from stations.models import (
    Extension,
    Leave,
    Notification,
    Rating,
    RecurringErrand,
    RequestEvent,
    ServiceRequest,
    SocialWorker,
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
    }


def test_second_run_adds_and_changes_nothing():
    first = _snapshot()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert _snapshot() == first
    assert "households already loaded, skipped" in out.getvalue()
    assert "requests already loaded, desk skipped" in out.getvalue()


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
