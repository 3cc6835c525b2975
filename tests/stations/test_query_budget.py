"""The query budget of the desk's busiest pages (issue #6): at most 15 SQL queries each, and the same
number with 3 and with 30 requests, residents, bookings and timeline entries.

Counted as the benchmark counts them (bench/run.py `count_queries`): the page inside the test's
transaction, so a service's own transaction shows up as SAVEPOINT / RELEASE (two of the count). What
runs after the commit (the notification task of an intake routed to someone else) is counted on its
own: one query. Every page is asked once before counting, the way a running server has its
per-process caches (content types) warm."""

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stations.choices import EventKind
from stations.models import (
    Booking,
    Category,
    Notification,
    OpeningHours,
    RequestEvent,
    RequestNote,
    ServiceRequest,
    Space,
)
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from stations.services.spaces import booking_create
from tests import factories

pytestmark = pytest.mark.django_db

BUDGET = 15
SMALL, LARGER = 3, 30


def next_monday() -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=7 - today.weekday())


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


class Desk:
    """Community A with its desk, a space and a request with a timeline; `grow(n)` brings every list
    to n rows (residents, requests in the worker's queue, bookings in next week, timeline entries)."""

    def __init__(self, community, building, household, worker, head):
        self.community, self.building, self.household = community, building, household
        self.worker, self.head = worker, head
        categories_seed(community=community)
        self.category = Category.objects.get(community=community, name="代开药")
        self.space = Space.objects.create(
            community=community, name="活动大厅", area_m2=200, capacity=30, weekly_quota_hours=10
        )
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(space=self.space, weekday=d, opens=dt.time(8), closes=dt.time(21))
                for d in range(7)
            ]
        )
        self.residents = []
        self.requests = []
        self.bookings = []
        self.detail = None
        self.slot = 0  # the next free booking slot next week (slots never repeat)

    def grow(self, n: int) -> None:
        while len(self.residents) < n:
            self.residents.append(
                factories.ResidentFactory(household=self.household, name=f"张{len(self.residents)}")
            )
        while len(self.requests) < n:
            sr, _ = service_request_create(
                actor=self.head,
                community=self.community,
                category=self.category,
                title=f"开药{len(self.requests)}",
                requester=self.residents[len(self.requests)],
                assignee=self.worker,
            )
            self.requests.append(sr)
        self.detail = self.detail or self.requests[0]
        now = timezone.now()
        have = RequestNote.objects.filter(request=self.detail).count()
        RequestNote.objects.bulk_create(
            [RequestNote(request=self.detail, author=self.head, body=f"记{i}") for i in range(have, n)]
        )
        RequestEvent.objects.bulk_create(
            [
                RequestEvent(request=self.detail, kind=EventKind.URGED, actor=self.head, at=now)
                for _ in range(have, n)
            ]
        )
        while len(self.bookings) < n:
            start, end = self.next_slot()
            booking, _ = booking_create(
                actor=self.head,
                space=self.space,
                starts_at=start,
                ends_at=end,
                resident=self.residents[len(self.bookings)],
            )
            self.bookings.append(booking)

    def next_slot(self) -> tuple[dt.datetime, dt.datetime]:
        """A free hour next week: 8:00–20:00 on each day, Monday first."""
        day, hour = divmod(self.slot, 12)
        self.slot += 1
        start = at(next_monday() + dt.timedelta(days=day), 8 + hour)
        return start, start + dt.timedelta(hours=1)


@pytest.fixture
def desk(community_a, building_a, household_a, worker_a, head_a):
    return Desk(community_a, building_a, household_a, worker_a, head_a)


# Each page: who asks, and (method, url, data) of one call. A POST makes something new every time.
def intake_post(desk: Desk):
    return (
        "post",
        reverse("stations:request_create"),
        {
            "submission_key": str(uuid.uuid4()),
            "requester": str(desk.residents[1].pk),
            "category": str(desk.category.pk),
            "title": "楼道灯不亮",
            "description": "",
            "channel": "walk_in",
            "urgency": "normal",
        },
    )


def booking_post(desk: Desk):
    start, end = desk.next_slot()
    return (
        "post",
        reverse("stations:booking_create", args=[desk.space.pk]),
        {
            "submission_key": str(uuid.uuid4()),
            "starts_at": local(start),
            "ends_at": local(end),
            "resident": str(desk.residents[1].pk),
            "purpose": "议事会",
            "attendees": "4",
        },
    )


def booking_post_taken(desk: Desk):
    taken = desk.bookings[0]
    return (
        "post",
        reverse("stations:booking_create", args=[desk.space.pk]),
        {
            "submission_key": str(uuid.uuid4()),
            "starts_at": local(taken.starts_at),
            "ends_at": local(taken.ends_at),
            "resident": str(desk.residents[1].pk),
            "purpose": "议事会",
            "attendees": "4",
        },
    )


PAGES: dict[str, tuple[str, Callable]] = {
    "intake POST": ("head", intake_post),  # routed to the worker, who is notified after commit
    "booking POST": ("head", booking_post),
    "booking POST, slot taken (409)": ("head", booking_post_taken),
    "my queue": ("worker", lambda d: ("get", reverse("stations:my_queue"), None)),
    "request list (filtered)": (
        "head",
        lambda d: ("get", reverse("stations:request_list"), {"category": d.category.pk, "status": "new"}),
    ),
    "request detail": ("head", lambda d: ("get", d.detail.get_absolute_url(), None)),
    "resident search": ("worker", lambda d: ("get", reverse("residents:resident_list"), {"q": "张"})),
    "intake resident lookup": ("worker", lambda d: ("get", reverse("stations:resident_lookup"), {"q": "张"})),
    "booking resident lookup": (
        "head",
        lambda d: ("get", reverse("stations:booking_create", args=[d.space.pk]), {"resident_q": "张"}),
    ),
    "booking form (staff)": (
        "head",
        lambda d: ("get", reverse("stations:booking_create", args=[d.space.pk]), None),
    ),
    "space week": (
        "head",
        lambda d: (
            "get",
            reverse("stations:space_week", args=[d.space.pk]),
            {"week": next_monday().isoformat()},
        ),
    ),
}
EXPECTED_STATUS = {"intake POST": 302, "booking POST": 302, "booking POST, slot taken (409)": 409}


def count(client, desk: Desk, page: str) -> int:
    method, url, data = PAGES[page][1](desk)
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == EXPECTED_STATUS.get(page, 200), (page, response.status_code)
    return len(queries.captured_queries)


def client_for(as_user, desk: Desk, page: str):
    return as_user(desk.worker.user if PAGES[page][0] == "worker" else desk.head)


@pytest.mark.parametrize("page_name", list(PAGES))
def test_page_stays_within_the_query_budget_whatever_the_data_size(page_name, desk, as_user):
    page = page_name  # not `page`: pytest-playwright's fixture of that name would parametrize the test
    desk.grow(SMALL)
    client = client_for(as_user, desk, page)
    count(client, desk, page)  # warm-up, as a running server is
    small = count(client, desk, page)
    desk.grow(LARGER)
    larger = count(client, desk, page)
    assert small == larger, f"{page}: {small} queries with {SMALL} rows, {larger} with {LARGER}"
    assert larger <= BUDGET, f"{page}: {larger} queries (budget {BUDGET})"


def test_the_pages_measured_did_their_work(desk, as_user):
    # The counts above are of pages that really booked and logged, not of error pages.
    desk.grow(SMALL)
    requests_before, bookings_before = ServiceRequest.objects.count(), Booking.objects.count()
    count(client_for(as_user, desk, "intake POST"), desk, "intake POST")
    count(client_for(as_user, desk, "booking POST"), desk, "booking POST")
    assert ServiceRequest.objects.count() == requests_before + 1
    assert Booking.objects.count() == bookings_before + 1
    made = ServiceRequest.objects.latest("pk")
    assert (made.requester, made.assignee) == (desk.residents[1], desk.worker)
    assert made.history.count() == 1
    assert Booking.objects.latest("pk").resident == desk.residents[1]


def test_after_the_intake_commits_the_notification_costs_one_query(
    desk, as_user, django_capture_on_commit_callbacks
):
    desk.grow(SMALL)
    client = client_for(as_user, desk, "intake POST")
    with django_capture_on_commit_callbacks() as after_commit:
        count(client, desk, "intake POST")
    with CaptureQueriesContext(connection) as queries:
        for callback in after_commit:
            callback()
    assert len(queries.captured_queries) == 1  # the task's INSERT (immediate backend: the notices)
    made = ServiceRequest.objects.latest("pk")
    assert Notification.objects.filter(user=desk.worker.user, event__request=made).count() == 1
