"""The three rates (三率), defined once.

Every dashboard figure about a period is a set of requests written here as a Q object over
ServiceRequest. The dashboard counts it with ``Count("pk", filter=q)`` and the drill-down link
(``?rate=<key>&period=YYYY-MM`` on the request list) filters the list with the *same* q, so the list's
count is the figure.

A period is a calendar month in local time, ``[start, end)``. Its figures are taken **as they stood at
its cut-off**, ``cutoff = min(end, now)``: for the running month that is now; for a past month it is
midnight at its end, so a past month's figures never change when requests are worked on later.

- **Population**: requests received in ``[start, end)``, except those cancelled before the cut-off.
- **Response rate 响应率** = requests accepted (签收) before the cut-off and no later than their response
  deadline / requests whose response deadline passed before the cut-off, or that were accepted before it
  (their response was due in the period or has already happened).
- **Resolution rate 解决率** = requests whose follow-up (回访) answer was "solved" / requests with a
  follow-up answer.
- **Satisfaction rate 满意率** = requests answered "satisfied" or "basically satisfied" / requests with a
  follow-up answer.

A request reopened for rework (a "not solved" or "dissatisfied" answer, then a new answer) counts with
its **latest answer before the cut-off**. ``ServiceRequest.solved / satisfaction / rated_at`` hold the
latest answer; only when that answer came after the cut-off is the ``Rating`` history consulted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.lookups import Exact, In
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from stations.choices import OPEN_STATES, PROACTIVE_CHANNELS, Satisfaction, Status
from stations.models import Rating

SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASIC)
_PERIOD_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month in local time."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 2000 <= self.year <= 2999):
            raise ValueError("not a month")

    @classmethod
    def containing(cls, moment: dt.datetime | None = None) -> Period:
        day = timezone.localdate(moment or timezone.now())
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str | None) -> Period | None:
        """ "2026-03" → Period(2026, 3); anything else → None."""
        match = _PERIOD_RE.match((text or "").strip())
        if not match:
            return None
        try:
            period = cls(int(match[1]), int(match[2]))
            period.next()  # a period ends where the next one starts: December 2999 has no end
        except ValueError:
            return None
        return period

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime(self.year, self.month, 1))

    @property
    def end(self) -> dt.datetime:
        return self.next().start

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def cutoff(self, now: dt.datetime) -> dt.datetime:
        """The moment the period's figures are taken at: its end, or now while it runs."""
        return min(self.end, now)

    def is_running(self, now: dt.datetime) -> bool:
        return self.start <= now < self.end

    def label(self) -> str:
        return formats.date_format(self.first_day, "YEAR_MONTH_FORMAT")

    def __str__(self) -> str:
        return self.key


# --- The sets -----------------------------------------------------------------------------------------


def received(period: Period, now: dt.datetime) -> Q:
    """The period's population: received in it, not cancelled before the cut-off."""
    cutoff = period.cutoff(now)
    return Q(received_at__gte=period.start, received_at__lt=period.end) & (
        ~Q(status=Status.CANCELLED) | Q(closed_at__gte=cutoff)
    )


def cancelled(period: Period, now: dt.datetime) -> Q:
    """Received in the period and cancelled before the cut-off (left out of every rate)."""
    cutoff = period.cutoff(now)
    return Q(received_at__gte=period.start, received_at__lt=period.end, status=Status.CANCELLED) & ~Q(
        closed_at__gte=cutoff
    )


def response(period: Period, now: dt.datetime) -> tuple[Q, Q]:
    """(numerator, denominator) of the response rate 响应率."""
    cutoff = period.cutoff(now)
    population = received(period, now)
    accepted = Q(accepted_at__lt=cutoff)
    denominator = population & (Q(response_due_at__lt=cutoff) | accepted)
    numerator = population & accepted & Q(accepted_at__lte=F("response_due_at"))
    return numerator, denominator


def _answers_before(cutoff: dt.datetime):
    return Rating.objects.filter(request=OuterRef("pk"), at__lt=cutoff).order_by("-at", "-pk")


def _answered_later(cutoff: dt.datetime) -> Q:
    # "rated_at IS NOT NULL" first: for an unanswered row `rated_at >= cutoff` is NULL, not FALSE, and
    # SQL would still run the history subquery for it (for every unanswered request of the period).
    # NOT NULL is FALSE there, so the AND stops before the subquery; the set is the same.
    return Q(rated_at__isnull=False) & Q(rated_at__gte=cutoff)


def _answered(cutoff: dt.datetime) -> Q:
    # The row's own answer when it came before the cut-off (the usual case, no subquery needed);
    # otherwise (answered again after the cut-off) whether the history holds an earlier one.
    return Q(rated_at__lt=cutoff) | (_answered_later(cutoff) & Q(Exists(_answers_before(cutoff))))


def _answer_in(cutoff: dt.datetime, field: str, values: tuple) -> Q:
    """The latest answer before the cut-off has `field` in `values`."""
    latest = Subquery(_answers_before(cutoff).values(field)[:1])
    lookup = Exact(latest, values[0]) if len(values) == 1 else In(latest, list(values))
    return Q(rated_at__lt=cutoff, **{f"{field}__in": list(values)}) | (_answered_later(cutoff) & Q(lookup))


def resolution(period: Period, now: dt.datetime) -> tuple[Q, Q]:
    """(numerator, denominator) of the resolution rate 解决率."""
    cutoff = period.cutoff(now)
    denominator = received(period, now) & _answered(cutoff)
    return denominator & _answer_in(cutoff, "solved", (True,)), denominator


def satisfaction(period: Period, now: dt.datetime) -> tuple[Q, Q]:
    """(numerator, denominator) of the satisfaction rate 满意率."""
    cutoff = period.cutoff(now)
    denominator = received(period, now) & _answered(cutoff)
    return denominator & _answer_in(cutoff, "satisfaction", SATISFIED), denominator


def proactive(period: Period, now: dt.datetime) -> Q:
    """Found on visits or proactively (未诉先办), within the population."""
    return received(period, now) & Q(channel__in=sorted(PROACTIVE_CHANNELS))


def reactive(period: Period, now: dt.datetime) -> Q:
    """Brought by residents (walk-in, phone, online, 12345 transfers), within the population."""
    return received(period, now) & ~Q(channel__in=sorted(PROACTIVE_CHANNELS))


def due_soon(period: Period, now: dt.datetime) -> Q:
    """Open and due within the next 24 hours (a "now" figure: the period does not matter)."""
    return Q(
        status__in=sorted(OPEN_STATES),
        resolution_due_at__gte=now,
        resolution_due_at__lt=now + dt.timedelta(hours=24),
    )


RATES: dict[str, Callable[[Period, dt.datetime], tuple[Q, Q]]] = {
    "response": response,
    "resolution": resolution,
    "satisfaction": satisfaction,
}

RATE_LABELS = {
    "response": _("Response rate"),
    "resolution": _("Resolution rate"),
    "satisfaction": _("Satisfaction rate"),
}


def _part(rate: str, index: int) -> Callable[[Period, dt.datetime], Q]:
    return lambda period, now: RATES[rate](period, now)[index]


# Every set a dashboard link can open: key → q(period, now). The request list's `rate` filter reads this.
FIGURES: dict[str, Callable[[Period, dt.datetime], Q]] = {
    "received": received,
    "cancelled": cancelled,
    "proactive": proactive,
    "reactive": reactive,
    "due_soon": due_soon,
    **{f"{rate}_num": _part(rate, 0) for rate in RATES},
    **{f"{rate}_den": _part(rate, 1) for rate in RATES},
}

FIGURE_CHOICES = [
    ("received", _("Received in the month")),
    ("cancelled", _("Cancelled")),
    ("proactive", _("Found proactively")),
    ("reactive", _("Brought by residents")),
    ("due_soon", _("Due within 24 h")),
    ("response_num", _("Responded in time")),
    ("response_den", _("Response due")),
    ("resolution_num", _("Solved (回访)")),
    ("resolution_den", _("Follow-up answered")),
    ("satisfaction_num", _("Satisfied (回访)")),
    ("satisfaction_den", _("Follow-up answered")),
]


def figure_q(key: str, period: Period, now: dt.datetime) -> Q:
    return FIGURES[key](period, now)


def percent(numerator: int, denominator: int) -> float | None:
    """The rate in per cent with one decimal, None when there is nothing to rate."""
    return round(100 * numerator / denominator, 1) if denominator else None
