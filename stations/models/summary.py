"""The dashboards' summary tables, kept by PostgreSQL triggers (stations.services.summary).

They hold counts, never personal data, and are derived entirely from ServiceRequest, Rating and
RequestEvent (SummaryCare: from residents, their care tags and the visits): `manage.py dashboard_summary`
rebuilds them from those tables at any time. On SQLite the
dashboards count live and these tables stay empty.

How a count that depends on "now" can be stored: every figure of a request is a step function of the
cut-off (the moment the figures are taken at, stations.rates.Period.cutoff). Its steps are at the request's
own timestamps (accepted, cancelled, answered, response deadline). A row with ``at`` NULL ("settled") holds
the figures as they stand after every step that had happened when the row was last written
(``settled_until``); a row with ``at`` set holds the change a later step makes, for cut-offs after ``at``
(today that is mostly a response deadline still ahead). Figures at a cut-off are the sum of the settled
rows and of the rows with ``at`` before it — exact for a past month's end, and for any cut-off later than
the settled rows' ``settled_until`` (the selectors count live otherwise)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from community.lib.models import ChoiceLabels
from residents.models import Community, Household
from stations.choices import StationLine
from stations.models.requests import Category, RequestEvent, ServiceRequest


def _derived(model, **kwargs) -> models.ForeignKey:
    # Derived rows: written by triggers from rows that already satisfy these keys, rebuilt from scratch by
    # the command, and never the way to reach the data. No database constraint (its checks would cost
    # every write of a request twice over) and nothing happens to them when Django deletes the target.
    return models.ForeignKey(
        model, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", **kwargs
    )


class SummaryMonth(ChoiceLabels, models.Model):
    """Period figures (stations.rates) of one community's requests received in one month, per category and
    station line: the rows the dashboards and the monthly report add up instead of counting requests."""

    community = _derived(Community, verbose_name=_("community"))
    period = models.DateField(
        _("month"), help_text=_("The first day of the month the requests were received in.")
    )
    category = _derived(Category, verbose_name=_("category"))
    line = models.CharField(_("station line"), max_length=16, choices=StationLine.choices)
    at = models.DateTimeField(_("from"), null=True, blank=True)
    settled_until = models.DateTimeField(_("settled until"), null=True, blank=True)
    received = models.IntegerField(_("received"), default=0)
    cancelled = models.IntegerField(_("cancelled"), default=0)
    proactive = models.IntegerField(_("found proactively"), default=0)
    reactive = models.IntegerField(_("brought by residents"), default=0)
    response_num = models.IntegerField(_("responded in time"), default=0)
    response_den = models.IntegerField(_("response due"), default=0)
    resolution_num = models.IntegerField(_("solved"), default=0)
    resolution_den = models.IntegerField(_("follow-up answered"), default=0)
    satisfaction_num = models.IntegerField(_("satisfied"), default=0)
    satisfaction_den = models.IntegerField(_("follow-up answered (satisfaction)"), default=0)

    class Meta:
        ordering = ["community", "period", "category", "line", "at"]
        verbose_name = _("monthly summary row")
        verbose_name_plural = _("monthly summary rows")
        constraints = [
            models.CheckConstraint(condition=Q(line__in=StationLine.values), name="summarymonth_line_valid"),
            # One settled row per key (the triggers' INSERT … ON CONFLICT target) …
            models.UniqueConstraint(
                fields=["community", "period", "category", "line"],
                condition=Q(at__isnull=True),
                name="summarymonth_settled_unique",
            ),
            # … and one row per key and later moment.
            models.UniqueConstraint(
                fields=["community", "period", "category", "line", "at"],
                condition=Q(at__isnull=False),
                name="summarymonth_step_unique",
            ),
        ]
        indexes = [
            # period_rows: the communities' rows of two months (settled and steps alike).
            models.Index(fields=["community", "period"], name="summarymonth_comm_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.period:%Y-%m} {self.category_id}/{self.line} {self.at or '-'}"


class SummaryDay(models.Model):
    """Per community and local day: requests received, and requests resolved (办结) for the first time in
    their week (so a week's sum counts each request resolved in it once). The weekly trend adds days up."""

    community = _derived(Community, verbose_name=_("community"))
    day = models.DateField(_("day"))
    at = models.DateTimeField(_("from"), null=True, blank=True)
    settled_until = models.DateTimeField(_("settled until"), null=True, blank=True)
    received = models.IntegerField(_("received"), default=0)
    resolved = models.IntegerField(_("resolved"), default=0)

    class Meta:
        ordering = ["community", "day", "at"]
        verbose_name = _("daily summary row")
        verbose_name_plural = _("daily summary rows")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "day"], condition=Q(at__isnull=True), name="summaryday_settled_unique"
            ),
            models.UniqueConstraint(
                fields=["community", "day", "at"],
                condition=Q(at__isnull=False),
                name="summaryday_step_unique",
            ),
        ]
        indexes = [
            # weekly_trend: the communities' days of twelve weeks.
            models.Index(fields=["community", "day"], name="summaryday_comm_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.day} {self.at or '-'}"


class SummaryResolution(models.Model):
    """One resolution (a status event into "resolved") with its request's community and receipt time: the
    workers' table reads a month of one community's resolutions here (count and median time to resolve)
    instead of joining every resolution of the district to its request."""

    event = models.OneToOneField(
        RequestEvent,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="+",
        verbose_name=_("event"),
    )
    request = _derived(ServiceRequest, verbose_name=_("request"))
    community = _derived(Community, verbose_name=_("community"))
    actor = _derived(settings.AUTH_USER_MODEL, null=True, blank=True, verbose_name=_("by"))
    at = models.DateTimeField(_("resolved"))
    received_at = models.DateTimeField(_("received"))

    class Meta:
        ordering = ["community", "at"]
        verbose_name = _("resolution")
        verbose_name_plural = _("resolutions")
        indexes = [
            # resolution_times: one community's resolutions in a month, with what the median needs.
            models.Index(fields=["community", "at", "actor", "received_at"], name="summaryres_comm_at_idx"),
            # The request triggers keep community and received_at in step with the request.
            models.Index(fields=["request"], name="summaryres_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.at:%Y-%m-%d %H:%M}"


class SummaryCare(models.Model):
    """Per household and visit cadence: how many of its residents have a care tag with that cadence as their
    smallest one, and when the household was last visited (NULL: never). "Vulnerable residents overdue for a
    visit" is the sum of the rows whose last visit is older than their cadence — a few thousand rows for a
    subdistrict instead of its residents joined to their care tags. Counts per household, no names: a
    resident whose tags are cleared (erasure) leaves it with the next write."""

    # No index of their own: the two below lead with them.
    community = _derived(Community, db_index=False, verbose_name=_("community"))
    household = _derived(Household, db_index=False, verbose_name=_("household"))
    cadence_days = models.PositiveSmallIntegerField(_("visit every (days)"))
    residents = models.IntegerField(_("residents"))
    last_visit = models.DateTimeField(_("last visit"), null=True, blank=True)

    class Meta:
        ordering = ["community", "household", "cadence_days"]
        verbose_name = _("care summary row")
        verbose_name_plural = _("care summary rows")
        constraints = [
            # The triggers recompute a household's rows: its residents may (rarely) be of two communities.
            models.UniqueConstraint(
                fields=["household", "community", "cadence_days"], name="summarycare_household_unique"
            ),
        ]
        indexes = [
            # care_overdue_counts: the communities' rows, counted from the index alone.
            models.Index(
                fields=["community", "cadence_days", "last_visit", "residents"], name="summarycare_comm_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.household_id} {self.cadence_days}d ×{self.residents}"
