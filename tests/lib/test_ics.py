"""The iCalendar writer: escaping, folding at 75 octets (never inside a character), UTC times."""

import datetime as dt
import zoneinfo

import pytest

from community.lib import ics

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def unfold(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", "")  # only CRLF line endings
    return text.replace("\r\n ", "").split("\r\n")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("a,b;c", "a\\,b\\;c"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines\r\nthree", "two\\nlines\\nthree"),
        ("瑜伽, 初级", "瑜伽\\, 初级"),
    ],
)
def test_escape_text(raw, escaped):
    assert ics.escape_text(raw) == escaped


def test_format_utc_converts_and_refuses_naive():
    assert ics.format_utc(dt.datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)) == "20261203T010000Z"
    with pytest.raises(ValueError):
        ics.format_utc(dt.datetime(2026, 12, 3, 9, 0))


def test_short_line_is_not_folded():
    assert ics.fold("SUMMARY:short") == "SUMMARY:short"
    line = "X" * 75
    assert ics.fold(line) == line


@pytest.mark.parametrize(
    "text", ["SUMMARY:" + "a" * 200, "SUMMARY:" + "瑜伽课程" * 30, "S:" + "a" * 3 + "é" * 80]
)
def test_fold_keeps_octet_limit_and_characters(text):
    folded = ics.fold(text)
    physical = folded.split("\r\n")
    assert len(physical) > 1
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    assert all(line.startswith(" ") for line in physical[1:])
    assert folded.replace("\r\n ", "") == text


def test_calendar_round_trip():
    start = dt.datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
    events = [
        ics.Event(
            uid="booking-1@onedesk", starts_at=start, ends_at=start + dt.timedelta(hours=1), summary="Booked"
        ),
        ics.Event(
            uid="booking-2@onedesk",
            starts_at=start + dt.timedelta(hours=2),
            ends_at=start + dt.timedelta(hours=3),
            summary="瑜伽; 初级, 周四",
            status="TENTATIVE",
        ),
    ]
    text = ics.calendar(
        name="活动大厅, 二层",
        events=events,
        prodid="-//OneDesk//Spaces//ZH",
        now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    assert text.endswith("\r\n")
    lines = unfold(text)[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and "PRODID:-//OneDesk//Spaces//ZH" in lines
    assert "X-WR-CALNAME:活动大厅\\, 二层" in lines
    assert lines.count("BEGIN:VEVENT") == 2 == lines.count("END:VEVENT")
    assert "DTSTART:20261203T010000Z" in lines and "DTEND:20261203T020000Z" in lines
    assert "SUMMARY:瑜伽\\; 初级\\, 周四" in lines
    assert "STATUS:TENTATIVE" in lines
    assert lines.count("DTSTAMP:20261201T000000Z") == 2
