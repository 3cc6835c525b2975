"""The demo's in-memory calendar of the spaces: what past bookings may take without breaking the
rules the booking service enforces for new ones (opening hours, closed dates, overlaps, quota)."""

import datetime as dt
from collections import Counter, defaultdict

from django.utils import timezone

from community.lib.workdays import is_workday
from residents.models import Resident
from stations.models import Space
from stations.services import spaces as services


def next_holiday(today: dt.date, horizon_days: int = 28) -> dt.date | None:
    """The next weekday off (a public holiday) within `horizon_days`, if any."""
    for offset in range(1, horizon_days + 1):
        day = today + dt.timedelta(days=offset)
        if day.weekday() < 5 and not is_workday(day):
            return day
    return None


class Calendar:
    """What the database will hold, kept in memory: opening hours, closed dates, the time each space
    is taken and each person's booked minutes per space and week (the service's quota)."""

    def __init__(self) -> None:
        self.hours: dict[int, dict[int, list[tuple[dt.time, dt.time]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.closed: dict[int, set[dt.date]] = defaultdict(set)
        self.taken: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        self.minutes: Counter = Counter()

    def fits(self, space: Space, starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
        start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
        if start.date() != end.date() or start.date() in self.closed[space.pk]:
            return False
        if not any(o <= start.time() and end.time() <= c for o, c in self.hours[space.pk][start.weekday()]):
            return False
        return all(not (s < ends_at and starts_at < e) for s, e in self.taken[space.pk])

    def take(self, space: Space, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
        self.taken[space.pk].append((starts_at, ends_at))

    def quota_allows(self, space: Space, resident: Resident, starts_at: dt.datetime, minutes: int) -> bool:
        key = (space.pk, resident.pk, services.week_bounds(starts_at)[0])
        return not space.weekly_quota_hours or self.minutes[key] + minutes <= space.weekly_quota_hours * 60

    def count(self, space: Space, resident: Resident, starts_at: dt.datetime, minutes: int) -> None:
        self.minutes[(space.pk, resident.pk, services.week_bounds(starts_at)[0])] += minutes
