"""Spaces of the generated communities: three rooms each with opening hours, two weekly courses with their
enrolments and sessions, and bookings from eight weeks back to two weeks ahead. Bookings are laid out
one after another per room and day, so no two of a room ever overlap (the exclusion constraint holds)."""

from __future__ import annotations

import base64
import datetime as dt

from stations.choices import BookingKind, BookingStatus, EnrolmentStatus, SpaceKind
from stations.generate.sink import Sink
from stations.generate.world import CommunityRec, World, stream
from stations.models import Booking, Course, Enrolment, OpeningHours, Space

WEEKS_BACK, WEEKS_AHEAD = 8, 2
# (name, kind, m², capacity, needs approval)
ROOMS = (
    ("议事空间", SpaceKind.DISCUSSION, 45, 20, True),
    ("公益空间", SpaceKind.PUBLIC_WELFARE, 80, 40, False),
    ("多功能活动厅", SpaceKind.ACTIVITY_HALL, 150, 60, False),
)
WEEKDAY_HOURS = (dt.time(8, 30), dt.time(20, 30))
WEEKEND_HOURS = (dt.time(9, 0), dt.time(17, 0))
# (title, room index, weekdays, start, minutes, places, teacher)
COURSES = (
    ("瑜伽班", 2, (1, 3), dt.time(19, 0), 90, 20, "刘老师"),
    ("广场舞班", 1, (0, 2), dt.time(19, 0), 60, 16, "陈老师"),
)
PURPOSES = (
    "楼门议事会",
    "读书会",
    "党员学习",
    "书法练习",
    "合唱排练",
    "亲子活动",
    "志愿者培训",
    "企业员工活动",
    "居民议事协商",
)

SPACE_FIELDS = (
    "id", "community", "name", "kind", "description", "area_m2", "capacity", "photo", "open_to_residents",
    "open_to_enterprise_staff", "requires_approval", "horizon_days", "min_minutes", "max_minutes", "slot_minutes",
    "weekly_quota_hours", "feed_token", "is_active", "position",
)  # fmt: skip
BOOKING_FIELDS = (
    "id", "space", "kind", "status", "starts_at", "ends_at", "resident", "booked_by", "course", "purpose",
    "attendees", "decided_by", "decided_at", "checked_in_at", "created_at", "updated_at",
)  # fmt: skip


def build_spaces(world: World, sink: Sink, record: CommunityRec) -> tuple[int, int]:
    rng = stream(world.sizes.seed, "spaces", record.code)
    tz = world.end.tzinfo
    today = world.today
    now = world.end
    adults = [r for r in record.residents if r.age >= 18] or record.residents
    portal = [r for r in record.residents if r.user_id]
    workers = record.workers
    spaces, hours, courses, enrolments, bookings = [], [], [], [], []
    space_pks = []
    for position, (name, kind, area, capacity, approval) in enumerate(ROOMS):
        pk = sink.next_id(Space)
        space_pks.append(pk)
        token = base64.urlsafe_b64encode(rng.getrandbits(192).to_bytes(24, "big")).decode()
        spaces.append(
            (
                pk,
                record.pk,
                name,
                kind,
                "",
                area,
                capacity,
                "",
                True,
                True,
                approval,
                14,
                30,
                240,
                30,
                4,
                token,
                True,
                position,
            )
        )
        for weekday in range(7):
            opens, closes = WEEKDAY_HOURS if weekday < 5 else WEEKEND_HOURS
            hours.append((sink.next_id(OpeningHours), pk, weekday, opens, closes))
    course_pks = []
    for title, room, _days, _start, _minutes, places, teacher in COURSES:
        pk = sink.next_id(Course)
        course_pks.append(pk)
        courses.append(
            (pk, record.pk, space_pks[room], title, "", teacher, places, True, True, True, world.start)
        )
        chosen = rng.sample(adults, min(len(adults), places + rng.randrange(6)))
        for n, resident in enumerate(chosen):
            status = EnrolmentStatus.ENROLLED if n < places else EnrolmentStatus.WAITLISTED
            enrolled_by = resident.user_id or record.head_user_id
            joined = now - dt.timedelta(days=60 - n, minutes=rng.randrange(600))
            enrolments.append(
                (sink.next_id(Enrolment), pk, resident.pk, status, enrolled_by, joined, None, None)
            )
    first = today - dt.timedelta(weeks=WEEKS_BACK)
    for offset in range((WEEKS_BACK + WEEKS_AHEAD) * 7):
        day = first + dt.timedelta(days=offset)
        weekday = day.weekday()
        for room, space_pk in enumerate(space_pks):
            opens, closes = WEEKDAY_HOURS if weekday < 5 else WEEKEND_HOURS
            taken: list[tuple[dt.datetime, dt.datetime]] = []
            for (title, course_room, days, start, minutes, places, _teacher), course_pk in zip(
                COURSES, course_pks, strict=True
            ):
                if course_room == room and weekday in days:
                    begins = dt.datetime.combine(day, start, tzinfo=tz)
                    ends = begins + dt.timedelta(minutes=minutes)
                    taken.append((begins, ends))
                    bookings.append(
                        (sink.next_id(Booking), space_pk, BookingKind.COURSE, BookingStatus.CONFIRMED, begins, ends, None,
                         record.head_user_id, course_pk, title, places, None, None, None, world.start, world.start)
                    )  # fmt: skip
            at = dt.datetime.combine(day, opens, tzinfo=tz)
            closing = dt.datetime.combine(day, closes, tzinfo=tz)
            while at < closing:
                if rng.random() >= 0.3:
                    at += dt.timedelta(minutes=60)
                    continue
                ends = min(at + dt.timedelta(minutes=rng.choice((60, 90, 120, 180))), closing)
                if any(at < b_end and b_start < ends for b_start, b_end in taken):
                    at += dt.timedelta(minutes=60)
                    continue
                if portal and rng.random() < 0.6:
                    resident = portal[rng.randrange(len(portal))]
                    booked_by = resident.user_id
                else:
                    resident = adults[rng.randrange(len(adults))]
                    booked_by = workers[rng.randrange(len(workers))].user_id
                created = min(
                    at - dt.timedelta(days=rng.randint(1, 10), minutes=rng.randrange(600)),
                    now - dt.timedelta(hours=1),
                )
                roll = rng.random()
                if ends <= now:
                    status = (
                        BookingStatus.CHECKED_IN if roll < 0.75 else BookingStatus.NO_SHOW if roll < 0.82
                        else BookingStatus.CANCELLED if roll < 0.92 else BookingStatus.CONFIRMED
                    )  # fmt: skip
                else:
                    status = BookingStatus.CANCELLED if roll < 0.1 else BookingStatus.CONFIRMED
                    if ROOMS[room][4] and roll > 0.85:
                        status = BookingStatus.PENDING
                decided_by = decided_at = None
                if ROOMS[room][4] and status != BookingStatus.PENDING:
                    decided_by, decided_at = record.head_user_id, created + dt.timedelta(hours=2)
                checked_in = (
                    at + dt.timedelta(minutes=rng.randrange(-10, 10))
                    if status == BookingStatus.CHECKED_IN
                    else None
                )
                bookings.append(
                    (sink.next_id(Booking), space_pk, BookingKind.BOOKING, status, at, ends, resident.pk, booked_by, None,
                     PURPOSES[rng.randrange(len(PURPOSES))], rng.randint(2, ROOMS[room][3] // 2), decided_by, decided_at,
                     checked_in, created, created)
                )  # fmt: skip
                taken.append((at, ends))
                at = ends + dt.timedelta(minutes=rng.choice((0, 30, 60)))
    sink.write(Space, SPACE_FIELDS, spaces, label="spaces")
    sink.write(OpeningHours, ("id", "space", "weekday", "opens", "closes"), hours, label="opening hours")
    sink.write(
        Course,
        ("id", "community", "space", "title", "description", "teacher", "capacity", "open_to_residents",
         "open_to_enterprise_staff", "is_active", "created_at"),
        courses,
        label="courses",
    )  # fmt: skip
    sink.write(
        Enrolment,
        ("id", "course", "resident", "status", "enrolled_by", "created_at", "promoted_at", "left_at"),
        enrolments,
        label="enrolments",
    )
    sink.write(Booking, BOOKING_FIELDS, bookings, label="bookings")
    return len(bookings), len(enrolments)
