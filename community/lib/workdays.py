"""Working days on the mainland calendar: public holidays and 调休 make-up workdays come from
`chinese-calendar`; for years it does not cover yet, weekends only (logged once per year)."""

import datetime as dt
import logging
from functools import cache

import chinese_calendar

logger = logging.getLogger(__name__)


@cache
def _warn_uncovered(year: int) -> None:
    logger.warning("chinese-calendar has no holidays for %s; counting weekends only", year)


def is_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        _warn_uncovered(day.year)
        return day.weekday() < 5


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (`day` itself does not count)."""
    if count < 0:
        raise ValueError("count must not be negative")
    current = day
    remaining = count
    while remaining:
        current += dt.timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def working_deadline(start: dt.datetime, days: int) -> dt.datetime:
    """End of the `days`-th working day after the local date of `start` (aware datetime in, aware out).

    A request received on a Friday before a holiday with 7 working days is due at the end of the 7th
    working day after it, skipping the holiday and counting a 调休 Saturday."""
    tz = start.tzinfo
    local_day = start.date()
    due_day = add_working_days(local_day, days)
    return dt.datetime.combine(due_day, dt.time(23, 59, 59), tzinfo=tz)
