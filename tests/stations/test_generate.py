"""The district generator: deterministic, valid rows, a working desk afterwards, and it keeps away from
data it did not make."""

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Min

from community.lib.validators import gender_from_id, normalize_id_number, normalize_phone
from residents.models import Community, Resident
from stations.choices import ACTIVE_BOOKING_STATES, CLOSED_STATES, OPEN_STATES, EventKind, Status
from stations.generate import PASSWORD
from stations.models import Booking, Category, Rating, ReferenceCounter, RequestEvent, ServiceRequest, Visit
from stations.services.requests import deadline, service_request_create

UNTIL = "2026-11-01"
SMALL = ["--communities", "2", "--residents", "500", "--requests", "2000", "--until", UNTIL]


def generate(*extra: str) -> str:
    out = StringIO()
    call_command("generate_district", *SMALL, *extra, stdout=out)
    return out.getvalue()


def digest() -> str:
    """A fingerprint of the generated rows by their natural keys (primary keys differ between runs)."""
    parts = [
        ServiceRequest.objects.order_by("reference").values_list(
            "reference",
            "token",
            "submission_key",
            "status",
            "channel",
            "category__name",
            "title",
            "received_at",
            "resolution_due_at",
            "closed_at",
            "satisfaction",
            "assignee__user__username",
            "requester__id_number",
            "requester__name",
            "building__number",
        ),  # fmt: skip
        Resident.objects.order_by(
            "community__code", "name_pinyin", "id_number", "name", "birth_date"
        ).values_list(
            "community__code",
            "name",
            "name_pinyin",
            "id_number",
            "phone",
            "birth_date",
            "household__room",
        ),  # fmt: skip
        Booking.objects.order_by("space__community__code", "space__name", "starts_at").values_list(
            "space__community__code", "space__name", "starts_at", "ends_at", "status", "resident__name"
        ),
        RequestEvent.objects.order_by("request__reference", "at", "kind").values_list(
            "request__reference", "kind", "at", "new_status", "actor__username"
        ),
        Rating.objects.order_by("request__reference", "at").values_list(
            "request__reference", "satisfaction", "at"
        ),
        Visit.objects.order_by("community__code", "visited_at", "household__room").values_list(
            "community__code", "visited_at", "worker__user__username", "found"
        ),
    ]
    hasher = hashlib.sha256()
    for rows in parts:
        for row in rows:
            hasher.update(repr(row).encode())
    return hasher.hexdigest()


@pytest.mark.django_db
def test_same_seed_same_rows_and_flush_replaces_them():
    generate()
    first = digest()
    # A second run without --flush refuses; with it, the same rows come back.
    with pytest.raises(CommandError, match="--flush"):
        generate()
    generate("--flush")
    assert digest() == first
    assert ServiceRequest.objects.count() == 2000
    assert Community.objects.count() == 2
    generate("--flush", "--seed", "2")
    assert digest() != first


@pytest.mark.django_db
def test_rows_are_valid_and_the_desk_works_on_them():
    output = generate()
    assert "requests" in output and "rows/s" in output
    end = dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert Community.objects.filter(code__in=["G001", "G002"]).count() == 2
    assert Resident.objects.count() == 500

    # People: ID numbers valid and agreeing with the gender; phones valid.
    for id_number, gender, phone in Resident.objects.values_list("id_number", "gender", "phone"):
        if id_number:
            assert normalize_id_number(id_number) == id_number
            assert gender_from_id(id_number) == gender
        if phone:
            assert normalize_phone(phone) == phone

    # Requests: one "received" event each, deadlines as the service sets them, lives before the end.
    requests = ServiceRequest.objects.select_related("category")
    assert requests.count() == 2000
    created = Counter(RequestEvent.objects.filter(kind=EventKind.CREATED).values_list("request", flat=True))
    assert set(created.values()) == {1} and len(created) == 2000
    assert not RequestEvent.objects.filter(at__lt=F("request__received_at")).exists()
    assert not RequestEvent.objects.filter(at__gte=end).exists()
    for service_request in requests[:300]:
        category = service_request.category
        resolution = deadline(
            service_request.received_at, category.resolution_limit, category.resolution_unit
        )
        assert service_request.resolution_due_at == max(resolution, service_request.response_due_at)
        assert service_request.received_at < end
        if service_request.status in CLOSED_STATES:
            assert service_request.closed_at is not None
        else:
            assert service_request.closed_at is None
        if service_request.status == Status.CLOSED:
            assert service_request.rated_at is not None and service_request.solved is True
    statuses = Counter(requests.values_list("status", flat=True))
    assert statuses[Status.CLOSED] > 0.8 * 2000
    overdue = requests.filter(status__in=OPEN_STATES, resolution_due_at__lt=end).count()
    assert 0.005 * 2000 < overdue < 0.08 * 2000

    # References: unique, numbered 1…n per community and year, and the counters know the last one.
    references = list(requests.values_list("community__code", "reference"))
    assert len({ref for _code, ref in references}) == 2000
    per_year = defaultdict(list)
    for code, reference in references:
        prefix, year, number = reference.split("-")
        assert prefix == code
        per_year[(code, int(year))].append(int(number))
    for (code, year), numbers in per_year.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        assert ReferenceCounter.objects.get(community__code=code, year=year).last == len(numbers)

    # Bookings: no two active bookings of a space overlap.
    by_space = defaultdict(list)
    for space, starts, ends in Booking.objects.filter(status__in=ACTIVE_BOOKING_STATES).values_list(
        "space", "starts_at", "ends_at"
    ):
        by_space[space].append((starts, ends))
    assert by_space
    for slots in by_space.values():
        slots.sort()
        assert all(a_end <= b_start for (_a, a_end), (b_start, _b) in zip(slots, slots[1:], strict=False))

    # The desk goes on: a new request takes the next reference and a fresh key.
    community = Community.objects.get(code="G001")
    head = User.objects.get(username="g001_head")
    category = Category.objects.get(community=community, name="代开药")
    received = dt.datetime(2026, 10, 31, 10, 0, tzinfo=end.tzinfo)
    last = ReferenceCounter.objects.get(community=community, year=2026).last
    new, made = service_request_create(
        actor=head, community=community, category=category, title="代开降压药", received_at=received
    )
    assert made and new.reference == f"G001-2026-{last + 1:06d}"
    assert new.pk > ServiceRequest.objects.exclude(pk=new.pk).aggregate(m=Min("pk"))["m"]
    # Generated logins work with the generated password.
    assert User.objects.get(username="g001_sg01").check_password(PASSWORD)
    assert (
        Category.objects.filter(community=community).values("parent").annotate(n=Count("pk")).count() > 1
    )  # a two-level tree


@pytest.mark.django_db
def test_refuses_a_database_with_real_data(community_a, resident_a):
    with pytest.raises(CommandError, match="--force"):
        generate()
    assert not Community.objects.filter(code__startswith="G").exists()
    generate("--force")
    generate("--force", "--flush")
    # The real community and its resident are untouched by the run and the flush.
    assert Community.objects.filter(pk=community_a.pk).exists()
    resident_a.refresh_from_db()
    assert resident_a.community_id == community_a.pk
    assert Community.objects.count() == 3
