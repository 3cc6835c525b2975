"""A small, model-free iCalendar (RFC 5545) writer: enough for a read-only feed of events.

Times are written in UTC (``YYYYMMDDTHHMMSSZ``) so no VTIMEZONE block is needed; text values are
escaped (backslash, comma, semicolon, newline); lines are folded at 75 octets without splitting a
UTF-8 character; every line ends with CRLF."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

CRLF = "\r\n"
MAX_OCTETS = 75


@dataclass(frozen=True)
class Event:
    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    status: str = "CONFIRMED"  # TENTATIVE, CONFIRMED or CANCELLED
    description: str = ""


def escape_text(value: str) -> str:
    """RFC 5545 §3.3.11: backslash first, then ; and , and newlines as \\n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def format_utc(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("iCalendar times must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """RFC 5545 §3.1: lines longer than 75 octets continue on the next line after CRLF + space.
    The leading space counts towards the 75, and a multi-byte character is never cut."""
    parts: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, MAX_OCTETS - 1
        current += char
        size += width
    parts.append(current)
    return (CRLF + " ").join(parts)


def _lines(name: str, events: Iterable[Event], prodid: str, stamp: str) -> Iterable[str]:
    yield "BEGIN:VCALENDAR"
    yield "VERSION:2.0"
    yield f"PRODID:{prodid}"
    yield "CALSCALE:GREGORIAN"
    yield "METHOD:PUBLISH"
    yield f"X-WR-CALNAME:{escape_text(name)}"
    yield "X-PUBLISHED-TTL:PT1H"
    for event in events:
        yield "BEGIN:VEVENT"
        yield f"UID:{event.uid}"
        yield f"DTSTAMP:{stamp}"
        yield f"DTSTART:{format_utc(event.starts_at)}"
        yield f"DTEND:{format_utc(event.ends_at)}"
        yield f"SUMMARY:{escape_text(event.summary)}"
        if event.description:
            yield f"DESCRIPTION:{escape_text(event.description)}"
        yield f"STATUS:{event.status}"
        yield "END:VEVENT"
    yield "END:VCALENDAR"


def calendar(*, name: str, events: Iterable[Event], prodid: str, now: dt.datetime) -> str:
    """The whole VCALENDAR as text, CRLF line endings (encode as UTF-8 to send)."""
    stamp = format_utc(now)
    return "".join(fold(line) + CRLF for line in _lines(name, events, prodid, stamp))
