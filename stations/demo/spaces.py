"""The spaces part of the demo: the activity spaces the reform made room for, their courses and a
few weeks of bookings.

华贸中心社区 shrank its office to 75 m² and opened 435 m² of activity space: a discussion space
(议事空间, bookings need approval), a public-welfare space (公益空间) and an activity hall where
yoga and dance courses run. 安华里社区 has a meeting room and an activity room with a 太极拳
course. Course sessions run from four weeks ago to four weeks ahead, with enrolments (the yoga
course is full, people wait for a place) and attendance; bookings run from three weeks ago to two
weeks ahead, with a weekly series and maintenance blocks.

What the services accept is written through them: sessions, blocks, the series, enrolments,
attendance, future bookings (as the resident's own login where they have one, else by a worker
on their behalf), approvals and cancellations. The services refuse past times for bookings, so
past bookings are written directly, following the same rules: inside opening hours, on the time
grid, within the weekly quota and never overlapping (an in-memory calendar per space is checked
before anything is written, so the exclusion constraint never fires on PostgreSQL).

Re-runnable: a community that already has spaces is skipped.
"""

import base64
import datetime as dt
import random
import uuid
from collections import Counter

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from residents.models import Community, Resident
from stations.choices import (
    ACTIVE_BOOKING_STATES,
    BookingKind,
    BookingStatus,
    EnrolmentStatus,
    Role,
    WorkerType,
)
from stations.demo.base import Log, silent
from stations.demo.people import age_of
from stations.demo.registry import Places
from stations.demo.space_calendar import Calendar, next_holiday
from stations.demo.spaces_catalogue import (
    BLOCKS,
    COURSES,
    HOURS,
    SERIES,
    SPACES,
    WEEKEND,
    CourseSpec,
    SpaceSpec,
    Use,
)
from stations.models import (
    Attendance,
    Booking,
    BookingSeries,
    ClosedDate,
    Course,
    Enrolment,
    OpeningHours,
    Space,
)
from stations.services import courses
from stations.services import spaces as services

SESSIONS_BACK = SESSIONS_AHEAD = 28  # days of course sessions either side of today
BOOKINGS_BACK, BOOKINGS_AHEAD = 21, 14  # days of bookings
OFFICE_AREA_M2 = {"AHL": 60, "HMZX": 75}
PENDING_LEFT = 3  # the newest requests for the discussion space wait for a decision
CANCEL_SHARE = 0.08  # of the upcoming bookings


def build_spaces(rng: random.Random, *, places: Places, log: Log = silent) -> None:
    now = timezone.now().replace(microsecond=0)
    communities = (places.anhuali, places.huamao)
    streams = {community.code: random.Random(rng.getrandbits(64)) for community in communities}
    for community in communities:
        Community.objects.filter(pk=community.pk).update(office_area_m2=OFFICE_AREA_M2[community.code])
        if Space.objects.filter(community=community).exists():
            log(f"{community.name}: spaces already loaded, skipped.")
            continue
        Loader(streams[community.code], community=community, now=now, log=log).run()


class Loader:
    """The spaces, courses and bookings of one community."""

    def __init__(self, rng: random.Random, *, community: Community, now: dt.datetime, log: Log) -> None:
        self.community, self.now, self.log = community, now, log
        self.today = timezone.localdate(now)
        self.tz = timezone.get_current_timezone()
        # One stream per step, split before anything is read, so one step cannot shift another.
        (
            self.space_rng,
            self.course_rng,
            self.series_rng,
            self.booking_rng,
            self.decision_rng,
        ) = (random.Random(rng.getrandbits(64)) for _ in range(5))
        self.calendar = Calendar()
        self.spaces: dict[str, Space] = {}
        self.specs: dict[str, SpaceSpec] = {}
        self.past: list[tuple[Booking, dt.datetime, dt.datetime]] = []  # with created_at, updated_at
        self.upcoming: list[tuple[Booking, random.Random]] = []
        self.series_count = self.blocks = self.skipped = 0
        workers = list(
            User.objects.filter(social_worker__community=community, social_worker__is_active=True)
            .select_related("social_worker")
            .order_by("username")
        )
        self.workers = workers
        # Courses are run by the project workers (项目类: government-purchased service projects).
        self.runner = next(u for u in workers if u.social_worker.worker_type == WorkerType.PROJECT)
        self.head = (
            User.objects.filter(groups__name=Role.HEAD, membership__community=community)
            .order_by("pk")
            .first()
            or workers[0]
        )
        self.people = list(
            Resident.objects.filter(community=community, birth_date__isnull=False)
            .select_related("user", "household__building", "employer")
            .order_by("pk")
        )
        # Who books: adults at home, and (华贸中心) employees of the enterprises living elsewhere.
        self.pools = {
            "resident": [p for p in self.people if p.household_id and 25 <= age_of(p.birth_date) <= 75],
            "employee": [p for p in self.people if p.household_id is None and p.employer_id],
        }
        self.portal = {
            who: [p for p in pool if p.user_id and p.user.username != "resident"]
            for who, pool in self.pools.items()
        }

    # -----------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.build_spaces()
        courses = self.build_courses()
        self.build_blocks()
        self.build_series()
        self.build_bookings()
        self.settle()
        self.report(courses)

    def at(self, day: dt.date, hhmm: str) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=self.tz)

    def key(self, rng: random.Random) -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def build_spaces(self) -> None:
        rng = self.space_rng
        holiday = next_holiday(self.today, SESSIONS_AHEAD)
        hours, closed = [], []
        for position, spec in enumerate(SPACES[self.community.code], start=1):
            space = Space.objects.create(
                community=self.community,
                name=spec.name,
                kind=spec.kind,
                description=spec.description,
                area_m2=spec.area_m2,
                capacity=spec.capacity,
                requires_approval=spec.requires_approval,
                max_minutes=spec.max_minutes,
                feed_token=base64.urlsafe_b64encode(rng.randbytes(24)).decode(),
                position=position,
            )
            self.spaces[spec.name], self.specs[spec.name] = space, spec
            for weekdays, opens, closes in HOURS:
                for weekday in weekdays:
                    if spec.weekdays_only and weekday in WEEKEND:
                        continue
                    row = OpeningHours(
                        space=space,
                        weekday=weekday,
                        opens=dt.time.fromisoformat(opens),
                        closes=dt.time.fromisoformat(closes),
                    )
                    hours.append(row)
                    self.calendar.hours[space.pk][weekday].append((row.opens, row.closes))
            if holiday is not None:
                closed.append(ClosedDate(space=space, date=holiday, reason="法定节假日"))
                self.calendar.closed[space.pk].add(holiday)
        OpeningHours.objects.bulk_create(hours)
        ClosedDate.objects.bulk_create(closed)

    # -----------------------------------------------------------------------------------------------
    # Courses: sessions, enrolments (the yoga course is full and has a waiting list), attendance

    def build_courses(self) -> list[Course]:
        rng = self.course_rng
        built = []
        enrolled_anywhere: set[int] = set()
        for spec in COURSES[self.community.code]:
            space = self.spaces[spec.space]
            course = Course.objects.create(
                community=self.community,
                space=space,
                title=spec.title,
                description=spec.description,
                teacher=spec.teacher,
                capacity=spec.capacity,
            )
            built.append(course)
            sessions = []
            for offset in range(-SESSIONS_BACK, SESSIONS_AHEAD + 1):
                day = self.today + dt.timedelta(days=offset)
                for weekday, start, minutes in spec.times:
                    starts_at = self.at(day, start)
                    ends_at = starts_at + dt.timedelta(minutes=minutes)
                    if day.weekday() != weekday or not self.calendar.fits(space, starts_at, ends_at):
                        continue
                    sessions.append(
                        courses.course_session_add(
                            actor=self.runner, course=course, starts_at=starts_at, ends_at=ends_at
                        )
                    )
                    self.calendar.take(space, starts_at, ends_at)
            people = self.course_people(rng, spec, exclude=enrolled_anywhere)
            enrolled_anywhere |= {p.pk for p in people}
            enrolments = []
            for person in people:
                # Those with a login signed up themselves; the others at the desk.
                actor = person.user if person.user_id else rng.choice(self.workers)
                enrolments.append(courses.enrol(actor=actor, course=course, resident=person))
            self.backdate_enrolments(rng, enrolments)
            self.record_attendance(rng, sessions, enrolments)
        return built

    def course_people(self, rng: random.Random, spec: CourseSpec, exclude: set[int]) -> list[Resident]:
        low, high = spec.ages
        fits = [p for p in self.people if p.pk not in exclude and low <= age_of(p.birth_date) <= high]
        residents = [p for p in fits if p.household_id]
        employees = [p for p in fits if p.household_id is None and p.employer_id]
        chosen = rng.sample(residents, min(spec.residents, len(residents)))
        chosen += rng.sample(employees, min(spec.employees, len(employees)))
        if self.community.code == "AHL":
            # The resident demo login does 太极拳, so "my courses" has something to show.
            own = next((p for p in self.people if p.user_id and p.user.username == "resident"), None)
            if own is not None and own not in chosen:
                chosen[0] = own
        rng.shuffle(chosen)
        return chosen

    def backdate_enrolments(self, rng: random.Random, enrolments: list[Enrolment]) -> None:
        """Places were taken in the weeks before the first session; the waiting list grew lately."""
        start = self.now - dt.timedelta(days=SESSIONS_BACK + 12)
        waiting_start = self.now - dt.timedelta(days=9)
        for enrolment in enrolments:
            if enrolment.status == EnrolmentStatus.WAITLISTED:
                waiting_start += dt.timedelta(hours=rng.randint(6, 40))
                enrolment.created_at = min(waiting_start, self.now)
            else:
                start += dt.timedelta(hours=rng.randint(2, 14))
                enrolment.created_at = start
        Enrolment.objects.bulk_update(enrolments, ["created_at"])

    def record_attendance(
        self, rng: random.Random, sessions: list[Booking], enrolments: list[Enrolment]
    ) -> None:
        """About 85 % come; some people come nearly always, a few often miss."""
        enrolled = [e.resident for e in enrolments if e.status == EnrolmentStatus.ENROLLED]
        keenness = {
            person.pk: rng.choice((0.98, 0.95, 0.95, 0.9, 0.9, 0.85, 0.8, 0.65)) for person in enrolled
        }
        rows = []
        for session in sessions:
            if session.ends_at > self.now:
                break
            for person in enrolled:
                rows.append(
                    courses.attendance_record(
                        actor=self.runner,
                        session=session,
                        resident=person,
                        present=rng.random() < keenness[person.pk],
                    )
                )
                rows[-1].recorded_at = session.ends_at + dt.timedelta(minutes=rng.randint(1, 20))
        Attendance.objects.bulk_update(rows, ["recorded_at"])

    # -----------------------------------------------------------------------------------------------
    # Blocks and the weekly series

    def build_blocks(self) -> None:
        monday = self.today - dt.timedelta(days=self.today.weekday())
        for spec in BLOCKS[self.community.code]:
            space = self.spaces[spec.space]
            day = monday + dt.timedelta(weeks=spec.week, days=spec.weekday)
            starts_at, ends_at = self.at(day, spec.start), self.at(day, spec.end)
            if not self.calendar.fits(space, starts_at, ends_at):
                continue
            services.space_block(
                actor=self.head, space=space, starts_at=starts_at, ends_at=ends_at, reason=spec.reason
            )
            self.calendar.take(space, starts_at, ends_at)
            self.blocks += 1

    def build_series(self) -> None:
        """A club that meets weekly: its past meetings, then the series booked ahead."""
        rng = self.series_rng
        spec = SERIES[self.community.code]
        space = self.spaces[spec.space]
        adults = [p for p in self.people if p.household_id and 30 <= age_of(p.birth_date) <= 70]
        with_login = [p for p in adults if p.user_id and p.user.username != "resident"]
        organiser = rng.choice(with_login if spec.own_login and with_login else adults)
        actor = organiser.user if spec.own_login and organiser.user_id else rng.choice(self.workers)
        length = dt.timedelta(minutes=spec.minutes)
        first = self.today + dt.timedelta(days=(spec.weekday - self.today.weekday()) % 7)
        if self.at(first, spec.start) <= self.now + dt.timedelta(minutes=30):
            first += dt.timedelta(weeks=1)
        day = first - dt.timedelta(weeks=1)
        while day >= self.today - dt.timedelta(days=BOOKINGS_BACK):
            fate = random.Random(rng.getrandbits(64))
            starts_at = self.at(day, spec.start)
            if starts_at <= self.now and self.calendar.fits(space, starts_at, starts_at + length):
                self.add_past(
                    fate, space, organiser, actor, starts_at, starts_at + length, spec.purpose, spec.people
                )
            day -= dt.timedelta(weeks=1)
        starts_at = self.at(first, spec.start)
        clashes = [
            s
            for s in services.series_slots(starts_at, starts_at + length, spec.weeks)
            if not self.calendar.fits(space, s.starts_at, s.ends_at)
        ]
        if len(clashes) == spec.weeks:
            return
        series, made, _skipped = services.booking_series_create(
            actor=actor,
            space=space,
            starts_at=starts_at,
            ends_at=starts_at + length,
            weeks=spec.weeks,
            resident=organiser,
            purpose=spec.purpose,
            attendees=spec.people,
            skip_clashes=True,
        )
        for booking in made:
            self.calendar.take(space, booking.starts_at, booking.ends_at)
            self.calendar.count(space, organiser, booking.starts_at, spec.minutes)
        # Booked a few days ago, all at once.
        created_at = self.now - dt.timedelta(hours=rng.randint(24, 120))
        BookingSeries.objects.filter(pk=series.pk).update(created_at=created_at)
        Booking.objects.filter(series=series).update(created_at=created_at, updated_at=created_at)
        self.series_count += 1

    # -----------------------------------------------------------------------------------------------
    # Bookings

    def build_bookings(self) -> None:
        rng = self.booking_rng
        self.demo_login_story()
        for offset in range(-BOOKINGS_BACK, BOOKINGS_AHEAD + 1):
            day = self.today + dt.timedelta(days=offset)
            weekend = day.weekday() in WEEKEND
            for name, space in self.spaces.items():
                spec = self.specs[name]
                for _ in range(rng.choice(spec.per_day)):
                    uses = [u for u in spec.uses if u.weekend or not weekend]
                    use = rng.choices(uses, weights=[u.weight for u in uses])[0]
                    minutes = rng.choice(use.minutes)
                    starts = rng.sample(use.starts, len(use.starts))
                    fate = random.Random(rng.getrandbits(64))
                    # Fewer bookings are made the further ahead a day is.
                    if offset > 2 and fate.random() < (offset - 2) / (BOOKINGS_AHEAD + 4):
                        continue
                    for start in starts:
                        starts_at = self.at(day, start)
                        ends_at = starts_at + dt.timedelta(minutes=minutes)
                        if self.calendar.fits(space, starts_at, ends_at):
                            self.book(fate, space, use, starts_at, ends_at)
                            break

    def demo_login_story(self) -> None:
        """The resident demo login (安华里) used the activity room last week and has a meeting ahead."""
        own = next((p for p in self.people if p.user_id and p.user.username == "resident"), None)
        if own is None or "活动室" not in self.spaces:
            return
        fate = random.Random(f"{self.community.code}:demo-login")
        room, meeting = self.spaces["活动室"], self.spaces["会议室"]
        for offset in range(7, 12):
            starts_at = self.at(self.today - dt.timedelta(days=offset), "14:00")
            ends_at = starts_at + dt.timedelta(minutes=90)
            if self.calendar.fits(room, starts_at, ends_at):
                self.add_past(
                    fate,
                    room,
                    own,
                    own.user,
                    starts_at,
                    ends_at,
                    "亲子手工",
                    12,
                    status=BookingStatus.CHECKED_IN,
                )
                break
        for offset in range(2, 7):
            starts_at = self.at(self.today + dt.timedelta(days=offset), "19:00")
            ends_at = starts_at + dt.timedelta(minutes=90)
            if self.calendar.fits(meeting, starts_at, ends_at):
                self.add_upcoming(
                    fate, meeting, own, own.user, starts_at, ends_at, self.purpose("{b}楼门议事会", own), 10
                )
                break

    def pick_person(
        self, fate: random.Random, use: Use, space: Space, starts_at: dt.datetime, minutes: int
    ) -> Resident | None:
        who = use.who
        if who == "anyone":
            who = fate.choice(("resident", "resident", "employee"))
        if not self.pools[who]:
            who = "resident"  # 安华里 has no office buildings
        # Most bookings are made by people with a login of their own; the rest at the desk.
        pool = self.pools[who]
        if self.portal[who] and fate.random() < 0.7:
            pool = self.portal[who]
        for _ in range(6):
            person = fate.choice(pool)
            if self.calendar.quota_allows(space, person, starts_at, minutes):
                return person
        return None

    def purpose(self, template: str, person: Resident) -> str:
        building = person.household.building.number if person.household_id else ""
        employer = person.employer.name if person.employer_id else ""
        return template.format(b=building, ent=employer)

    def book(
        self, fate: random.Random, space: Space, use: Use, starts_at: dt.datetime, ends_at: dt.datetime
    ) -> None:
        minutes = int((ends_at - starts_at).total_seconds() // 60)
        person = self.pick_person(fate, use, space, starts_at, minutes)
        if person is None:
            return
        actor = person.user if person.user_id and fate.random() < 0.85 else fate.choice(self.workers)
        people = min(fate.randint(*use.people), space.capacity)
        purpose = self.purpose(use.purpose, person)
        if starts_at <= self.now:
            self.add_past(fate, space, person, actor, starts_at, ends_at, purpose, people)
        elif starts_at > self.now + dt.timedelta(minutes=15):
            if starts_at > self.now + dt.timedelta(days=space.horizon_days, hours=-1):
                actor = fate.choice(self.workers)  # only staff book beyond the horizon
            self.add_upcoming(fate, space, person, actor, starts_at, ends_at, purpose, people)

    def add_past(
        self,
        fate: random.Random,
        space: Space,
        person: Resident,
        actor: User,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        purpose: str,
        people: int,
        status: str | None = None,
    ) -> None:
        """A booking in the past (or going on now), written directly with its outcome."""
        if status is None:
            roll = fate.random()
            status = (
                BookingStatus.CANCELLED
                if roll < 0.1
                else BookingStatus.NO_SHOW
                if roll < 0.17
                else BookingStatus.CHECKED_IN
            )
            if ends_at > self.now:
                status = BookingStatus.CHECKED_IN  # going on now: they are in the room
        created_at = starts_at - dt.timedelta(hours=fate.randint(20, 24 * space.horizon_days - 24))
        booking = Booking(
            space=space,
            kind=BookingKind.BOOKING,
            status=status,
            starts_at=starts_at,
            ends_at=ends_at,
            resident=person,
            booked_by=actor,
            purpose=purpose,
            attendees=people,
            submission_key=self.key(fate),
            created_at=created_at,
            updated_at=created_at,
        )
        if space.requires_approval and actor == person.user:
            booking.decided_by = fate.choice(self.workers)
            booking.decided_at = created_at + dt.timedelta(minutes=fate.randint(20, 8 * 60))
            booking.updated_at = booking.decided_at
        if status == BookingStatus.CHECKED_IN:
            booking.checked_in_at = booking.updated_at = starts_at - dt.timedelta(minutes=fate.randint(0, 12))
        elif status == BookingStatus.NO_SHOW:
            booking.updated_at = starts_at + dt.timedelta(minutes=30)
        else:
            booking.updated_at = max(booking.updated_at, starts_at - dt.timedelta(hours=fate.randint(2, 20)))
        self.past.append((booking, booking.created_at, booking.updated_at))
        self.calendar.take(space, starts_at, ends_at)
        if status in ACTIVE_BOOKING_STATES:
            self.calendar.count(space, person, starts_at, int((ends_at - starts_at).total_seconds() // 60))

    def add_upcoming(
        self,
        fate: random.Random,
        space: Space,
        person: Resident,
        actor: User,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        purpose: str,
        people: int,
    ) -> None:
        """A booking ahead, made through the service (pending when the space needs approval)."""
        try:
            booking, _created = services.booking_create(
                actor=actor,
                space=space,
                starts_at=starts_at,
                ends_at=ends_at,
                resident=person,
                purpose=purpose,
                attendees=people,
                submission_key=self.key(fate),
            )
        except ValidationError:
            self.skipped += 1
            return
        self.calendar.take(space, starts_at, ends_at)
        self.calendar.count(space, person, starts_at, int((ends_at - starts_at).total_seconds() // 60))
        self.upcoming.append((booking, fate))

    def settle(self) -> None:
        """Write the past bookings; date the upcoming ones; decide the older requests for approval and
        cancel a few upcoming bookings, through the services."""
        created = Booking.objects.bulk_create([booking for booking, _created, _updated in self.past])
        # auto_now_add and auto_now stamp "now" on insert: restore the dates of the story.
        for booking, (_booking, created_at, updated_at) in zip(created, self.past, strict=True):
            booking.created_at, booking.updated_at = created_at, updated_at
        Booking.objects.bulk_update(created, ["created_at", "updated_at"])
        rng = self.decision_rng
        for booking, fate in self.upcoming:
            made_ahead = dt.timedelta(days=booking.space.horizon_days) - (booking.starts_at - self.now)
            hours = max(1, min(96, int(made_ahead.total_seconds() // 3600)))
            booking.created_at = self.now - dt.timedelta(hours=fate.randint(1, hours))
        Booking.objects.bulk_update([b for b, _fate in self.upcoming], ["created_at"])
        pending = sorted(
            (b for b, _fate in self.upcoming if b.status == BookingStatus.PENDING), key=lambda b: b.created_at
        )
        decided = []
        for booking in pending[: max(0, len(pending) - PENDING_LEFT)]:
            decided.append(
                services.booking_decide(actor=rng.choice(self.workers), booking=booking, approve=True)
            )
            decided[-1].decided_at = booking.created_at + dt.timedelta(minutes=rng.randint(20, 6 * 60))
            decided[-1].decided_at = min(decided[-1].decided_at, self.now)
        Booking.objects.bulk_update(decided, ["decided_at"])
        waiting = {b.pk for b in pending[len(decided) :]}  # left for the desk to decide
        for booking, fate in self.upcoming:
            if booking.pk not in waiting and fate.random() < CANCEL_SHARE:
                resident_user = booking.resident.user if booking.resident.user_id else None
                actor = (
                    resident_user if booking.booked_by_id == getattr(resident_user, "pk", None) else self.head
                )
                services.booking_cancel(actor=actor, booking=booking)

    def report(self, courses: list[Course]) -> None:
        spaces = Space.objects.filter(community=self.community)
        area = sum(s.area_m2 for s in spaces)
        bookings = Booking.objects.filter(space__community=self.community)
        statuses = Counter(bookings.filter(kind=BookingKind.BOOKING).values_list("status", flat=True))
        enrolments = Enrolment.objects.filter(course__community=self.community)
        waiting = enrolments.filter(status=EnrolmentStatus.WAITLISTED).count()
        self.log(
            f"{self.community.name}: {spaces.count()} spaces ({area:.0f} m²), {len(courses)} courses with "
            f"{bookings.filter(kind=BookingKind.COURSE).count()} sessions, {enrolments.count()} enrolments "
            f"({waiting} waiting), {sum(statuses.values())} bookings ("
            + ", ".join(f"{statuses[s]} {s}" for s in BookingStatus.values if statuses[s])
            + f"), {self.series_count} series, {self.blocks} blocks"
            + (f"; {self.skipped} refused by the service" if self.skipped else "")
            + "."
        )
