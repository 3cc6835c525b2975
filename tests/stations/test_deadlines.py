"""Deadlines set on intake: clock hours or working days on the mainland calendar, computed in
Asia/Shanghai and stored aware; urgent requests are answered within 2 h; a request is never due to
be resolved before it is due to be answered. The calendar itself is tested in tests/lib/test_workdays.py."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from stations.choices import TimeUnit, Urgency, WorkerType
from stations.models import Category, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
H, WD = TimeUnit.HOURS, TimeUnit.WORKING_DAYS


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def categories(community_a):
    categories_seed(community=community_a)
    return {c.name: c for c in Category.objects.filter(community=community_a, parent__isnull=False)}


@pytest.fixture
def custom(community_a):
    """custom(response, unit, resolution, unit): a category with these limits."""

    def make(response_limit, response_unit, resolution_limit, resolution_unit):
        return Category.objects.create(
            community=community_a,
            name=f"自定{response_limit}{response_unit}{resolution_limit}{resolution_unit}",
            worker_type=WorkerType.LIAISON,
            response_limit=response_limit,
            response_unit=response_unit,
            resolution_limit=resolution_limit,
            resolution_unit=resolution_unit,
        )

    return make


@pytest.fixture
def intake(head_a, community_a, worker_a):
    def make(category, received_at, urgency=Urgency.NORMAL):
        sr, _ = service_request_create(
            actor=head_a,
            community=community_a,
            category=category,
            title="测试",
            received_at=received_at,
            urgency=urgency,
        )
        sr.refresh_from_db()  # what was stored, not what was computed
        return sr

    return make


def test_project_time_zone():
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ


def test_hours_are_plain_clock_hours(intake, categories):
    # 水电气暖故障: answer within 2 h, resolve within 24 h, holiday or not.
    category = categories["水电气暖故障"]
    assert (
        category.response_limit,
        category.response_unit,
        category.resolution_limit,
        category.resolution_unit,
    ) == (2, H, 24, H)
    sr = intake(category, local(2026, 9, 30, 20, 0))  # the eve of National Day
    assert sr.response_due_at == local(2026, 9, 30, 22, 0)
    assert sr.resolution_due_at == local(2026, 10, 1, 20, 0)


def test_working_days_skip_the_holiday(intake, categories):
    # 代开药: answer within 24 h, resolve within 3 working days: Thu 8, Fri 9, Sat 10 Oct (调休).
    sr = intake(categories["代开药"], local(2026, 9, 30, 10, 0))
    assert sr.response_due_at == local(2026, 10, 1, 10, 0)
    assert sr.resolution_due_at == local(2026, 10, 10, 23, 59, 59)


def test_urgent_is_answered_within_two_hours(intake, categories, custom):
    received = local(2026, 11, 3, 9, 15)
    sr = intake(categories["代开药"], received, Urgency.URGENT)
    assert sr.response_due_at == received + dt.timedelta(hours=2)
    assert sr.resolution_due_at == local(2026, 11, 6, 23, 59, 59)  # the resolution limit is unchanged
    quicker = intake(custom(1, H, 3, WD), received, Urgency.URGENT)
    assert quicker.response_due_at == received + dt.timedelta(hours=1)  # "at most" 2 h, never later
    days = intake(custom(2, WD, 5, WD), received, Urgency.URGENT)
    assert days.response_due_at == received + dt.timedelta(hours=2)


def test_normal_request_keeps_its_response_limit(intake, categories):
    received = local(2026, 11, 3, 9, 15)
    sr = intake(categories["代开药"], received)
    assert sr.response_due_at == received + dt.timedelta(hours=24)


@pytest.mark.parametrize("urgency", Urgency.values)
def test_resolution_never_before_response(intake, categories, custom, urgency):
    received = local(2026, 9, 30, 16, 0)
    odd = [custom(3, WD, 24, H), custom(24, H, 1, H), custom(5, WD, 1, WD)]
    for category in [*categories.values(), *odd]:
        sr = intake(category, received, urgency)
        assert sr.received_at <= sr.response_due_at <= sr.resolution_due_at, category.name
    # Answer within 3 working days, resolve within 24 h: the resolution waits for the answer.
    slow_answer = ServiceRequest.objects.get(category=odd[0])
    if urgency == Urgency.NORMAL:
        assert slow_answer.resolution_due_at == slow_answer.response_due_at == local(2026, 10, 10, 23, 59, 59)
    else:
        assert slow_answer.response_due_at == local(2026, 9, 30, 18, 0)
        assert slow_answer.resolution_due_at == local(2026, 10, 1, 16, 0)


def test_stored_aware_and_counted_from_the_local_date(intake, categories):
    # 代买生活用品: 2 working days. At 23:30 on Friday 13 Feb 2026 it is still Friday in Beijing:
    # Sat 14 (调休) and Tue 24 (after the Spring Festival) are the two days.
    category = categories["代买生活用品"]
    late_friday = intake(category, local(2026, 2, 13, 23, 30))
    assert timezone.is_aware(late_friday.resolution_due_at)
    assert timezone.localtime(late_friday.resolution_due_at) == local(2026, 2, 24, 23, 59, 59)
    # 00:30 on Saturday in Beijing is still Friday in UTC: the local date (Saturday) counts.
    after_midnight = intake(category, dt.datetime(2026, 2, 13, 16, 30, tzinfo=dt.UTC))
    assert timezone.localtime(after_midnight.received_at) == local(2026, 2, 14, 0, 30)
    assert after_midnight.resolution_due_at == local(2026, 2, 25, 23, 59, 59)
    assert timezone.localtime(after_midnight.resolution_due_at).tzinfo.key == "Asia/Shanghai"


def test_reference_year_is_the_local_year(intake, categories):
    category = categories["代开药"]
    old_year = intake(category, local(2026, 12, 31, 23, 30))
    new_year = intake(
        category, dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
    )  # 00:30 on 1 Jan 2027 in Beijing
    assert old_year.reference == "AHL-2026-000001"
    assert new_year.reference == "AHL-2027-000001"
