"""The desk of the generated district: categories, requests with their timelines and follow-up answers,
home visits and standing errands.

Each request lives a simulated life: received at a moment drawn from the season, the day of the week and
the channel's hours; accepted (usually within its response deadline), resolved (usually within its
resolution deadline), asked for a follow-up answer, closed or sent back for rework. Its status is
wherever that life stands at the end of the history, so old requests are closed, the last days' are
open, and the few that stalled are overdue. Deadlines follow the category (hours, or working days on
the mainland calendar, computed once per day and limit)."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict

from stations.choices import (
    Channel,
    EventKind,
    RatingSource,
    Satisfaction,
    Status,
    Urgency,
    WorkerType,
)
from stations.demo.catalogue import (
    CANCEL_REASONS,
    COMMENTS,
    VISIT_ACTION,
    VISIT_ACTION_HOUSEHOLD,
    VISIT_FOUND,
    VISIT_FOUND_HOUSEHOLD,
    VISIT_MET_ALONE,
    VISIT_MET_FAMILY,
)
from stations.generate.desk_rules import (
    CANCELLED_SHARE,
    DAY,
    EVENT_FIELDS,
    HOUR,
    LATE_RESOLUTION_SHARE,
    LATE_RESPONSE_SHARE,
    RATING_FIELDS,
    REQUEST_FIELDS,
    SOLVED_SHARE,
    STALLED_SHARE,
    STARTED_SHARE,
    URGENT_RESPONSE,
    URGENT_SHARE,
    VISIT_FIELDS,
    Calendar,
    Topics,
    _satisfaction,
    _token,
    _uuid,
    _who,
)
from stations.generate.sink import Sink
from stations.generate.world import CommunityRec, ResidentRec, World, stream
from stations.models import (
    Rating,
    RecurringErrand,
    ReferenceCounter,
    RequestEvent,
    ServiceRequest,
    Visit,
)


class CommunityDesk:
    """Makes one community's requests, events and ratings."""

    def __init__(self, world: World, calendar: Calendar, record: CommunityRec, sink: Sink) -> None:
        self.world, self.calendar, self.record, self.sink = world, calendar, record, sink
        self.rng = stream(world.sizes.seed, "desk", record.code)
        self.topics = Topics(record.categories, record.profile)
        residents = record.residents
        self.adults = [r for r in residents if r.age >= 18] or residents
        self.elders = [r for r in residents if r.age >= 65 or r.tags] or self.adults
        self.portal = [r for r in residents if r.user_id]
        self.by_type: dict[str, list] = defaultdict(list)
        self.by_building: dict[tuple[str, int], list] = defaultdict(list)
        for worker in record.workers:
            self.by_type[worker.worker_type].append(worker)
            for building_pk in worker.building_pks:
                self.by_building[(worker.worker_type, building_pk)].append(worker)
        self.homes = [b for b in record.buildings if b.kind != "office"]

    def _requester(self, rng: random.Random, kind: str) -> ResidentRec | None:
        if kind == "elder":
            pool = self.elders
        elif kind == "public" and rng.random() < 0.45:
            return None
        else:
            pool = self.adults
        # Some people ask far more often than others.
        return pool[int(len(pool) * rng.random() ** 1.4)]

    def build(self) -> tuple[int, int, int]:
        rng, calendar, topics, record, sink = self.rng, self.calendar, self.topics, self.record, self.sink
        end = calendar.end
        n = record.request_target
        # 1. When each request came in, what about and how; then in time order.
        day_indexes = rng.choices(range(len(calendar.days)), cum_weights=calendar.cum, k=n)
        draws = []
        for day_index in day_indexes:
            day = calendar.days[day_index]
            kind = calendar.kinds[day_index]
            category_index = bisect.bisect(
                topics.by_month[day.month], rng.random() * topics.by_month[day.month][-1]
            )
            names, cum = topics.channels[(category_index, kind)]
            channel = names[bisect.bisect(cum, rng.random() * cum[-1])]
            if channel == Channel.PROACTIVE and kind == 0 and rng.random() < 0.5:
                channel = Channel.VISIT
            windows, wcum = topics.hours["saturday" if channel == Channel.WALK_IN and kind else channel]
            low, high, _w = windows[bisect.bisect(wcum, rng.random() * wcum[-1])]
            at = calendar.midnights[day_index] + dt.timedelta(seconds=rng.randrange(low * 60, high * 60))
            if at >= end:
                at = end - dt.timedelta(seconds=rng.randrange(60, 3600))
            draws.append((at, category_index, channel))
        draws.sort(key=lambda d: d[0])

        requests, events, ratings = [], [], []
        counters: dict[int, int] = defaultdict(int)
        next_request = sink.next_id
        enterprises = record.enterprises
        for at, category_index, channel in draws:
            category = topics.categories[category_index]
            plan = topics.plans[category_index]
            pk = next_request(ServiceRequest)
            year = at.year
            counters[year] += 1
            reference = f"{record.code}-{year}-{counters[year]:06d}"
            # Who and where.
            requester = enterprise = None
            household = None
            if plan.enterprise_share and enterprises and rng.random() < plan.enterprise_share:
                enterprise = enterprises[rng.randrange(len(enterprises))]
                building = enterprise.building
                contact_name, contact_phone = enterprise.contact_name, enterprise.contact_phone
            else:
                if channel == Channel.ONLINE:
                    requester = self.portal[rng.randrange(len(self.portal))] if self.portal else None
                    if requester is None:
                        channel = Channel.PHONE
                if requester is None:
                    requester = self._requester(rng, plan.requester)
                if requester is not None:
                    household = requester.household
                    building = household.building
                    contact_name, contact_phone = requester.name, requester.phone
                else:
                    building = self.homes[int(len(self.homes) * rng.random() ** 1.3)]
                    if channel in (Channel.PHONE, Channel.HOTLINE):
                        contact_name = rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(("先生", "女士"))
                        contact_phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
                    else:
                        contact_name = contact_phone = ""
            if channel == Channel.ONLINE and (requester is None or requester.user_id is None):
                channel = Channel.PHONE
            # What it says.
            options = topics.topics[(category_index, at.month)]
            topic = options[rng.randrange(len(options))]
            if household is not None:
                floor, entrance = int(household.room[:-2] or 1), household.entrance
            else:
                floor, entrance = (
                    rng.randint(2, max(2, building.floors - 1)),
                    rng.randint(1, building.entrances),
                )
            floor = max(1, min(floor, building.floors - 1))
            context = {
                "who": _who(requester),
                "b": building.number,
                "u": f"{entrance}单元" if building.entrances > 1 else "",
                "f": floor,
                "fu": floor + 1,
                "ent": enterprise.name.removeprefix("北京").removesuffix("有限公司") if enterprise else "",
                "year": year,
            }
            title = topic.title.format(**context)[:120]
            description = topic.description.format(**context)
            urgency = (
                Urgency.URGENT
                if (topic.urgent or rng.random() < URGENT_SHARE.get(category.name, 0.01))
                else Urgency.NORMAL
            )
            # Deadlines as service_request_create sets them.
            response_due = calendar.deadline(at, category.response_limit, category.response_unit)
            if urgency == Urgency.URGENT:
                response_due = min(response_due, at + URGENT_RESPONSE)
            resolution_due = max(
                calendar.deadline(at, category.resolution_limit, category.resolution_unit), response_due
            )
            # Who handles it, who logged it.
            candidates = (
                self.by_building.get((category.worker_type, building.pk))
                or self.by_type[category.worker_type]
            )
            assignee = candidates[rng.randrange(len(candidates))]
            if channel == Channel.ONLINE:
                created_by = requester.user_id
            elif channel == Channel.HOTLINE:
                government = self.by_type[WorkerType.GOVERNMENT]
                created_by = government[rng.randrange(len(government))].user_id
            else:
                created_by = assignee.user_id
            # Its life up to the end of the history.
            token, key = _token(rng), _uuid(rng)
            status = Status.NEW
            accepted_at = resolved_at = closed_at = rated_at = None
            solved = None
            satisfaction = cancel_reason = ""
            rework = 0
            last = at
            events.append(
                (
                    sink.next_id(RequestEvent),
                    pk,
                    EventKind.CREATED,
                    created_by,
                    at,
                    "",
                    Status.NEW,
                    None,
                    None,
                    "",
                    True,
                )
            )
            fate = rng.random()
            if fate < CANCELLED_SHARE:
                when = at + dt.timedelta(seconds=rng.randrange(1800, 72 * 3600))
                if when < end:
                    status, closed_at, last = Status.CANCELLED, when, when
                    cancel_reason = CANCEL_REASONS[rng.randrange(len(CANCEL_REASONS))]
                    events.append(
                        (
                            sink.next_id(RequestEvent),
                            pk,
                            EventKind.STATUS,
                            assignee.user_id,
                            when,
                            Status.NEW,
                            Status.CANCELLED,
                            None,
                            None,
                            cancel_reason,
                            True,
                        )
                    )
            else:
                span = response_due - at
                if rng.random() < LATE_RESPONSE_SHARE:
                    accepted = at + span * rng.uniform(1.05, 3.0)
                else:
                    accepted = at + span * rng.uniform(0.02, 0.8)
                if accepted < end:
                    accepted_at = last = accepted
                    working = Status.IN_PROGRESS if rng.random() < STARTED_SHARE else Status.ACCEPTED
                    status = working
                    if fate >= 1 - STALLED_SHARE:
                        resolved = None
                    elif rng.random() < LATE_RESOLUTION_SHARE:
                        resolved = resolution_due + dt.timedelta(seconds=rng.randrange(3600, 10 * 86400))
                    else:
                        window = max(resolution_due - accepted, HOUR)
                        resolved = accepted + window * (0.05 + 0.9 * rng.random() ** 1.3)
                    if resolved is not None and resolved < end:
                        resolved_at = last = resolved
                        status = Status.RESOLVED
                        events.append(
                            (
                                sink.next_id(RequestEvent),
                                pk,
                                EventKind.STATUS,
                                assignee.user_id,
                                resolved,
                                working,
                                Status.RESOLVED,
                                None,
                                None,
                                "",
                                True,
                            )
                        )
                        answered = resolved + dt.timedelta(seconds=rng.randrange(4 * 3600, 72 * 3600))
                        rounds = 0
                        while answered < end and rounds < 2:
                            rounds += 1
                            solved = rounds == 2 or rng.random() < SOLVED_SHARE
                            satisfaction = (
                                _satisfaction(rng, solved)
                                if rounds == 1
                                else rng.choice((Satisfaction.SATISFIED, Satisfaction.BASIC))
                            )
                            by_requester = requester is not None and requester.user_id and rng.random() < 0.5
                            comments = COMMENTS[satisfaction]
                            ratings.append(
                                (
                                    sink.next_id(Rating),
                                    pk,
                                    record.pk,
                                    solved,
                                    satisfaction,
                                    comments[rng.randrange(len(comments))],
                                    RatingSource.REQUESTER if by_requester else RatingSource.CALLBACK,
                                    requester.user_id if by_requester else assignee.user_id,
                                    answered,
                                )
                            )
                            rated_at = last = answered
                            if solved and satisfaction != Satisfaction.DISSATISFIED:
                                status, closed_at = Status.CLOSED, answered
                                events.append(
                                    (
                                        sink.next_id(RequestEvent),
                                        pk,
                                        EventKind.STATUS,
                                        assignee.user_id,
                                        answered,
                                        Status.RESOLVED,
                                        Status.CLOSED,
                                        None,
                                        None,
                                        "",
                                        True,
                                    )
                                )
                                break
                            # Not solved, or dissatisfied: back to work, resolved again a few days later.
                            rework += 1
                            status, resolved_at = Status.IN_PROGRESS, None
                            events.append(
                                (
                                    sink.next_id(RequestEvent),
                                    pk,
                                    EventKind.REOPENED,
                                    assignee.user_id,
                                    answered,
                                    Status.RESOLVED,
                                    Status.IN_PROGRESS,
                                    None,
                                    None,
                                    "",
                                    True,
                                )
                            )
                            again = answered + dt.timedelta(seconds=rng.randrange(86400, 6 * 86400))
                            if again >= end:
                                break
                            resolved_at = last = again
                            status = Status.RESOLVED
                            events.append(
                                (
                                    sink.next_id(RequestEvent),
                                    pk,
                                    EventKind.STATUS,
                                    assignee.user_id,
                                    again,
                                    Status.IN_PROGRESS,
                                    Status.RESOLVED,
                                    None,
                                    None,
                                    "",
                                    True,
                                )
                            )
                            answered = again + dt.timedelta(seconds=rng.randrange(4 * 3600, 72 * 3600))
                    else:
                        events.append(
                            (
                                sink.next_id(RequestEvent),
                                pk,
                                EventKind.STATUS,
                                assignee.user_id,
                                accepted,
                                Status.NEW,
                                working,
                                None,
                                None,
                                "",
                                True,
                            )
                        )
            # A few new requests wait in the shared queue, unassigned.
            assignee_pk = None if status == Status.NEW and rng.random() < 0.3 else assignee.pk
            requests.append(
                (
                    pk, record.pk, reference, token, key, channel, category.line, category.pk,
                    requester.pk if requester else None, enterprise.pk if enterprise else None,
                    contact_name, contact_phone, building.pk, household.pk if household else None,
                    title, description, urgency, status, assignee_pk, created_by, at, response_due,
                    resolution_due, accepted_at, resolved_at, closed_at, cancel_reason, solved, satisfaction,
                    rated_at, rework, 0, 1 + (accepted_at is not None) + (resolved_at is not None) + rework + (closed_at is not None), last,
                )
            )  # fmt: skip
        sink.write(ServiceRequest, REQUEST_FIELDS, requests, label="requests")
        sink.write(RequestEvent, EVENT_FIELDS, events, label="request events")
        sink.write(Rating, RATING_FIELDS, ratings, label="ratings")
        sink.write(
            ReferenceCounter,
            ("id", "community", "year", "last"),
            [
                (sink.next_id(ReferenceCounter), record.pk, year, last)
                for year, last in sorted(counters.items())
            ],
            label="reference counters",
        )
        return len(requests), len(events), len(ratings)

    def build_visits(self) -> int:
        """Home visits by the workers who walk the building, mostly to care-tagged households."""
        rng = stream(self.world.sizes.seed, "visits", self.record.code)
        record, calendar, sink = self.record, self.calendar, self.sink
        households = [h for h in record.households]
        cared = [h for h in households if any(record.residents[i].tags for i in h.members)] or households
        workdays = calendar.workdays
        rows = []
        for _ in range(record.visit_target):
            household = (
                cared[rng.randrange(len(cared))]
                if rng.random() < 0.65
                else households[rng.randrange(len(households))]
            )
            building = household.building
            kind = (
                WorkerType.LIAISON
                if rng.random() < 0.8
                else rng.choice((WorkerType.PROJECT, WorkerType.GOVERNMENT))
            )
            candidates = self.by_building.get((kind, building.pk)) or self.by_type[kind]
            worker = candidates[rng.randrange(len(candidates))]
            day_index = workdays[int(len(workdays) * rng.random() ** 0.8)]
            minute = rng.randrange(540, 690) if rng.random() < 0.5 else rng.randrange(840, 1020)
            at = calendar.midnights[day_index] + dt.timedelta(minutes=minute)
            if at >= calendar.end:
                at -= 7 * DAY
            tagged = any(record.residents[i].tags for i in household.members)
            alone = len(household.members) == 1
            met = (VISIT_MET_ALONE if alone else VISIT_MET_FAMILY)[rng.randrange(6)]
            found = rng.choice(VISIT_FOUND if tagged else VISIT_FOUND_HOUSEHOLD)
            action = rng.choice(VISIT_ACTION if tagged else VISIT_ACTION_HOUSEHOLD)
            rows.append(
                (
                    sink.next_id(Visit),
                    record.pk,
                    household.pk,
                    building.pk,
                    worker.pk,
                    at,
                    met,
                    found,
                    action,
                    at + dt.timedelta(minutes=rng.randrange(5, 60)),
                )
            )
        sink.write(Visit, VISIT_FIELDS, rows, label="visits")
        return len(rows)

    def build_errands(self) -> int:
        """A few standing errands (代开药) for elderly residents, due over the next two weeks."""
        rng = stream(self.world.sizes.seed, "errands", self.record.code)
        record, sink = self.record, self.sink
        medicine = next(c for c in record.categories if c.name == "代开药")
        rows = []
        for number in range(3):
            resident = self.elders[rng.randrange(len(self.elders))]
            candidates = (
                self.by_building.get((WorkerType.LIAISON, resident.household.building.pk))
                or self.by_type[WorkerType.LIAISON]
            )
            worker = candidates[rng.randrange(len(candidates))]
            every = rng.choice((14, 30))
            rows.append(
                (
                    sink.next_id(RecurringErrand), record.pk, resident.pk, medicine.pk, f"为{_who(resident)}代开药（第{number + 1}项）",
                    "", every, self.world.today + dt.timedelta(days=rng.randrange(14)), worker.pk, True, worker.user_id,
                    self.world.start,
                )
            )  # fmt: skip
        sink.write(
            RecurringErrand,
            (
                "id",
                "community",
                "resident",
                "category",
                "title",
                "description",
                "every_days",
                "next_due_on",
                "assignee",
                "is_active",
                "created_by",
                "created_at",
            ),
            rows,
            label="recurring errands",
        )
        return len(rows)
