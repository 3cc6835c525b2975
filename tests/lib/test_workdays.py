"""The mainland working-day calendar: holidays and 调休 make-up workdays from chinese-calendar,
weekends only (with a warning) for years it does not cover yet.

Each calendar fact the expectations rely on is first checked against chinese-calendar itself, so a
wrong belief about the holidays fails loudly instead of silently confirming the code."""

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from community.lib import workdays
from community.lib.workdays import add_working_days, is_workday, working_deadline

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
UNCOVERED_YEAR = 2031  # far beyond what chinese-calendar 1.x ships (it stops at the current year)


def test_national_day_2026_calendar_facts():
    holidays = [D(2026, 10, d) for d in range(1, 8)]
    assert all(chinese_calendar.is_holiday(day) for day in holidays)
    assert chinese_calendar.is_workday(D(2026, 10, 10))  # Saturday, 调休 make-up workday
    assert D(2026, 10, 10).weekday() == 5
    assert not chinese_calendar.is_workday(D(2026, 10, 11))  # plain Sunday
    assert [is_workday(day) for day in holidays] == [False] * 7
    assert is_workday(D(2026, 10, 10)) and not is_workday(D(2026, 10, 11))


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (D(2026, 9, 30), 1, D(2026, 10, 8)),  # the whole holiday is skipped
        (D(2026, 9, 30), 2, D(2026, 10, 9)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),  # the make-up Saturday counts
        (D(2026, 9, 30), 4, D(2026, 10, 12)),  # Sunday 11 does not
        (D(2026, 10, 3), 1, D(2026, 10, 8)),  # counted from inside the holiday
        (D(2026, 9, 29), 7, D(2026, 10, 14)),  # 30 Sep, 8, 9, 10, 12, 13, 14
    ],
)
def test_add_working_days_across_national_day_2026(start, count, expected):
    assert add_working_days(start, count) == expected


def test_spring_festival_2026_calendar_facts():
    # Looked up with chinese-calendar: 15–23 Feb are the holiday, Sat 14 and Sat 28 Feb are workdays.
    holidays = [D(2026, 2, d) for d in range(15, 24)]
    assert all(chinese_calendar.is_holiday(day) for day in holidays)
    assert chinese_calendar.is_workday(D(2026, 2, 14)) and D(2026, 2, 14).weekday() == 5
    assert chinese_calendar.is_workday(D(2026, 2, 28)) and D(2026, 2, 28).weekday() == 5
    assert chinese_calendar.is_workday(D(2026, 2, 24))
    assert [is_workday(day) for day in holidays] == [False] * 9


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Friday → the make-up Saturday
        (D(2026, 2, 13), 2, D(2026, 2, 24)),  # then over the nine-day holiday
        (D(2026, 2, 12), 5, D(2026, 2, 26)),  # 13, 14, 24, 25, 26
        (D(2026, 2, 27), 1, D(2026, 2, 28)),  # the second make-up Saturday
        (D(2026, 2, 28), 1, D(2026, 3, 2)),  # Sunday 1 March is a rest day
        (D(2026, 2, 20), 3, D(2026, 2, 26)),
    ],
)
def test_add_working_days_across_spring_festival_2026(start, count, expected):
    assert add_working_days(start, count) == expected


def test_zero_days_is_the_day_itself_and_negative_is_refused():
    assert add_working_days(D(2026, 10, 1), 0) == D(2026, 10, 1)
    with pytest.raises(ValueError):
        add_working_days(D(2026, 10, 1), -1)


@pytest.fixture
def fresh_warnings():
    # The warning is given once per year per process; start and end each test with a clean slate.
    workdays._warn_uncovered.cache_clear()
    yield
    workdays._warn_uncovered.cache_clear()


def test_uncovered_year_counts_weekends_only_and_warns(fresh_warnings, caplog):
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(UNCOVERED_YEAR, 10, 1))
    assert D(UNCOVERED_YEAR, 10, 1).weekday() == 2  # a Wednesday: National Day, unknown to the fallback
    with caplog.at_level(logging.WARNING, logger="community.lib.workdays"):
        assert is_workday(D(UNCOVERED_YEAR, 10, 1))
        assert add_working_days(D(UNCOVERED_YEAR, 9, 30), 1) == D(UNCOVERED_YEAR, 10, 1)
        assert add_working_days(D(UNCOVERED_YEAR, 10, 3), 1) == D(UNCOVERED_YEAR, 10, 6)  # Fri → Mon
        assert add_working_days(D(UNCOVERED_YEAR, 10, 3), 6) == D(UNCOVERED_YEAR, 10, 13)
    warnings = [r for r in caplog.records if r.name == "community.lib.workdays"]
    assert len(warnings) == 1  # once per year, however many days were looked up
    assert warnings[0].levelno == logging.WARNING and str(UNCOVERED_YEAR) in warnings[0].getMessage()


def test_count_runs_from_covered_into_uncovered_year(fresh_warnings, caplog):
    last_covered = D(2026, 12, 31)
    assert chinese_calendar.is_workday(last_covered)
    with caplog.at_level(logging.WARNING, logger="community.lib.workdays"):
        # 2027 is not in this chinese-calendar: 1 Jan 2027 (a Friday) counts as a workday.
        result = add_working_days(last_covered, 1)
    try:
        chinese_calendar.is_workday(D(2027, 1, 1))
    except NotImplementedError:
        assert result == D(2027, 1, 1)
        assert any("2027" in r.getMessage() for r in caplog.records)
    else:  # a newer chinese-calendar knows 2027: New Year's Day is a holiday
        assert result > D(2027, 1, 1)


def test_working_deadline_is_end_of_local_day():
    start = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert working_deadline(start, 3) == dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=SHANGHAI)
    late = dt.datetime(2026, 2, 13, 23, 30, tzinfo=SHANGHAI)
    assert working_deadline(late, 1) == dt.datetime(2026, 2, 14, 23, 59, 59, tzinfo=SHANGHAI)
