"""Service requests (诉求) and everything hanging off them: categories, timeline events, notes,
photos, extensions and follow-up ratings."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from community.lib.models import ChoiceLabels
from community.lib.validators import mask_phone
from residents.models import Building, Community, Enterprise, Household, Resident
from stations.choices import (
    CLOSED_STATES,
    STATUS_BADGE,
    Channel,
    EventKind,
    ExtensionStatus,
    RatingSource,
    Satisfaction,
    StationLine,
    Status,
    TimeUnit,
    Urgency,
    WorkerType,
)
from stations.models.staff import SocialWorker


def _in(field: str, choices, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": list(choices)}), name=name)


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Category(ChoiceLabels, models.Model):
    """A two-level tree of request categories per community, with who handles them and time limits."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="categories", verbose_name=_("community")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="children",
        null=True,
        blank=True,
        verbose_name=_("parent"),
    )
    name = models.CharField(_("name"), max_length=64)
    worker_type = models.CharField(_("handled by"), max_length=16, choices=WorkerType.choices)
    line = models.CharField(
        _("station line"), max_length=16, choices=StationLine.choices, default=StationLine.COMMUNITY
    )
    response_limit = models.PositiveSmallIntegerField(_("respond within"), default=24)
    response_unit = models.CharField(
        _("unit"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.HOURS
    )
    resolution_limit = models.PositiveSmallIntegerField(_("resolve within"), default=7)
    resolution_unit = models.CharField(
        _("unit"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )
    position = models.PositiveSmallIntegerField(_("sort position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["community", "position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["community", "parent", "name"], name="category_unique_name"),
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="category_not_own_parent"),
            _in("worker_type", WorkerType.values, "category_worker_type_valid"),
            _in("line", StationLine.values, "category_line_valid"),
            _in("response_unit", TimeUnit.values, "category_response_unit_valid"),
            _in("resolution_unit", TimeUnit.values, "category_resolution_unit_valid"),
            models.CheckConstraint(
                condition=Q(response_limit__gte=1, resolution_limit__gte=1), name="category_limits_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReferenceCounter(models.Model):
    """The last number given out per community and year, for references like AHL-2026-000123.
    Locked with SELECT … FOR UPDATE so concurrent intakes never share a number."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["community", "year"]
        verbose_name = _("reference counter")
        verbose_name_plural = _("reference counters")
        constraints = [models.UniqueConstraint(fields=["community", "year"], name="referencecounter_unique")]

    def __str__(self) -> str:
        return f"{self.community_id}/{self.year}: {self.last}"


class ServiceRequest(ChoiceLabels, models.Model):
    """A request (诉求): anything a resident or enterprise asks for, or a need a worker found.

    One queue for the whole community; `line` only records which old station it would have gone to."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="service_requests", verbose_name=_("community")
    )
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    token = models.CharField(_("public token"), max_length=32, unique=True, default=new_token, editable=False)
    # One record per intake form, however often it is submitted (double tap, resubmit, retry).
    submission_key = models.UUIDField(_("submission key"), unique=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.WALK_IN)
    line = models.CharField(
        _("station line"), max_length=16, choices=StationLine.choices, default=StationLine.COMMUNITY
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="service_requests", verbose_name=_("category")
    )
    requester = models.ForeignKey(
        Resident,
        on_delete=models.PROTECT,
        related_name="service_requests",
        null=True,
        blank=True,
        verbose_name=_("requester"),
    )
    requester_enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="service_requests",
        null=True,
        blank=True,
        verbose_name=_("enterprise"),
    )
    contact_name = models.CharField(_("contact name"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    building = models.ForeignKey(
        Building,
        on_delete=models.PROTECT,
        related_name="service_requests",
        null=True,
        blank=True,
        verbose_name=_("building"),
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        related_name="service_requests",
        null=True,
        blank=True,
        verbose_name=_("household"),
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        SocialWorker,
        on_delete=models.PROTECT,
        related_name="assigned_requests",
        null=True,
        blank=True,
        verbose_name=_("assigned to"),
    )
    assisting = models.ManyToManyField(
        SocialWorker,
        related_name="assisting_requests",
        blank=True,
        verbose_name=_("assisting workers (协办)"),
    )
    source_visit = models.ForeignKey(
        "stations.Visit",
        on_delete=models.PROTECT,
        related_name="raised_requests",
        null=True,
        blank=True,
        verbose_name=_("raised during visit"),
    )
    errand = models.ForeignKey(
        "stations.RecurringErrand",
        on_delete=models.PROTECT,
        related_name="requests",
        null=True,
        blank=True,
        verbose_name=_("recurring errand"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("logged by")
    )
    received_at = models.DateTimeField(_("received"))
    response_due_at = models.DateTimeField(_("response due"))
    resolution_due_at = models.DateTimeField(_("resolution due"))
    accepted_at = models.DateTimeField(_("accepted (签收)"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved (办结)"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancel reason"), max_length=200, blank=True)
    # The latest follow-up (回访) answer; the history is in Rating. Kept here for the three rates.
    solved = models.BooleanField(_("solved"), null=True, blank=True)
    satisfaction = models.CharField(
        _("satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True
    )
    rated_at = models.DateTimeField(_("follow-up answered"), null=True, blank=True)
    rework_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    urge_count = models.PositiveSmallIntegerField(_("times urged"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "token", "submission_key"])

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        permissions = [
            ("handle_servicerequest", _("Can take, work on and resolve requests")),
            ("manage_servicerequest", _("Can reassign, urge, cancel and approve extensions of any request")),
        ]
        constraints = [
            _in("channel", Channel.values, "servicerequest_channel_valid"),
            _in("line", StationLine.values, "servicerequest_line_valid"),
            _in("status", Status.values, "servicerequest_status_valid"),
            _in("urgency", Urgency.values, "servicerequest_urgency_valid"),
            models.CheckConstraint(
                condition=Q(satisfaction="") | Q(satisfaction__in=Satisfaction.values),
                name="servicerequest_satisfaction_valid",
            ),
            models.CheckConstraint(
                condition=Q(resolution_due_at__gte=F("received_at")), name="servicerequest_due_after_received"
            ),
        ]
        indexes = [
            # The community's list, newest first.
            models.Index(fields=["community", "-received_at"], name="sr_comm_received_idx"),
            # The list across several communities (subdistrict staff), newest first: PostgreSQL walks the
            # whole table's newest requests and keeps those of the user's communities. Without it, it read
            # and sorted all of a subdistrict's ~200,000 requests for every page (423 ms → 0.3 ms).
            models.Index(fields=["-received_at", "-id"], name="sr_received_idx"),
            # My queue: open requests of one worker by deadline (partial: closed ones never show). With the
            # status last, the dashboard's workers' load (open and overdue per worker) reads the index
            # alone: 4.7 → 0.7 ms for a community's six workers and their ~3,800 open requests. (Carried
            # columns are key columns, not INCLUDE: SQLite has no INCLUDE, and its check warns about one.)
            models.Index(
                fields=["assignee", "resolution_due_at", "status"],
                name="sr_open_assignee_due_idx",
                condition=~Q(status__in=sorted(CLOSED_STATES)),
            ),
            # Overdue and due-soon counts of a community over open requests (with the status last: the
            # dashboards' "now" counts read the index alone). It carries the assignee and the pk as well, so
            # the queue's tab counts (stations.selectors.requests.queue_counts: mine, due soon, overdue,
            # shared) read the index alone too instead of each open request's row: 3.6 → 0.9 ms for a
            # community's ~3,300 open requests.
            models.Index(
                fields=["community", "resolution_due_at", "status", "assignee", "id"],
                name="sr_open_comm_due_idx",
                condition=~Q(status__in=sorted(CLOSED_STATES)),
            ),
            # The request list filtered by category (a parent stands for its children): those categories'
            # requests of the community, newest first.
            models.Index(fields=["community", "category", "-received_at"], name="sr_comm_category_idx"),
            # Proactive list: recurring category per building in the last 30 days.
            models.Index(fields=["building", "category", "received_at"], name="sr_building_cat_idx"),
            # The dashboards' period aggregates (stations.selectors.dashboard: live_period_rows,
            # grouped_figures, live_weekly_trend, building_category_matrix): a community's requests in a
            # received_at range, with every column the three rates read, the building the hotspots group by
            # and the pk they count, so the month is an index-only range scan instead of every row of the
            # community through the plain community index.
            models.Index(
                fields=[
                    "community",
                    "received_at",
                    "status",
                    "closed_at",
                    "channel",
                    "line",
                    "category",
                    "building",
                    "accepted_at",
                    "response_due_at",
                    "rated_at",
                    "solved",
                    "satisfaction",
                    "id",
                ],
                name="sr_comm_period_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("stations:request_detail", args=[self.pk])

    @property
    def status_badge(self) -> str:
        return STATUS_BADGE[self.status]

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATES and self.status != Status.RESOLVED

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)


class RequestEvent(ChoiceLabels, models.Model):
    """One entry of a request's timeline, stored as data (codes and keys), rendered to labels in templates."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="events", verbose_name=_("request")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"))
    old_status = models.CharField(_("from status"), max_length=16, choices=Status.choices, blank=True)
    new_status = models.CharField(_("to status"), max_length=16, choices=Status.choices, blank=True)
    old_assignee = models.ForeignKey(
        SocialWorker,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("from worker"),
    )
    new_assignee = models.ForeignKey(
        SocialWorker,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("to worker"),
    )
    note = models.TextField(_("note"), blank=True)
    is_public = models.BooleanField(_("shown to the requester"), default=False)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("request event")
        verbose_name_plural = _("request events")
        constraints = [_in("kind", EventKind.values, "requestevent_kind_valid")]
        indexes = [
            # The dashboard's "resolved per week": status events into resolved by time.
            models.Index(fields=["kind", "new_status", "at"], name="reqevent_kind_status_at_idx"),
            # The same, partial and with the request: weekly_trend's resolved per week and
            # resolution_times read only (at, request) of resolutions, as an index-only scan.
            models.Index(
                fields=["at", "request"],
                name="reqevent_resolved_at_idx",
                condition=Q(kind=EventKind.STATUS, new_status=Status.RESOLVED),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class RequestNote(models.Model):
    """A note on a request: internal to staff, or shown to the requester on the tracking page."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="notes", verbose_name=_("request")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    body = models.TextField(_("note"))
    is_public = models.BooleanField(_("shown to the requester"), default=False)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    updated_at = models.DateTimeField(_("edited"), auto_now=True)
    # The note form's key: a second submit of the same form (a double tap) adds nothing.
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return self.body[:40]


def photo_path(instance: "RequestPhoto", filename: str) -> str:
    # Random names: a guessed path leads nowhere, and files are served only through an access check.
    return f"requests/{instance.request.token}/{secrets.token_hex(8)}.jpg"


class RequestPhoto(models.Model):
    """A photo of a request, re-encoded as JPEG without metadata (no GPS), stored outside static/media URLs."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="photos", verbose_name=_("request")
    )
    image = models.FileField(_("photo"), upload_to=photo_path)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return self.image.name

    def get_absolute_url(self) -> str:
        return reverse("stations:request_photo", args=[self.request_id, self.pk])


class Extension(ChoiceLabels, models.Model):
    """A request for more time (延期): asked with a reason, decided by the committee head."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("request")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    reason = models.CharField(_("reason"), max_length=300)
    new_due_at = models.DateTimeField(_("new deadline"))
    status = models.CharField(
        _("status"), max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        constraints = [
            _in("status", ExtensionStatus.values, "extension_status_valid"),
            # At most one pending extension per request.
            models.UniqueConstraint(
                fields=["request"], condition=Q(status=ExtensionStatus.PENDING), name="extension_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.new_due_at:%Y-%m-%d}"


class Rating(ChoiceLabels, models.Model):
    """One follow-up (回访) answer: was it solved, how satisfied. Each round of rework can have one."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("request")
    )
    # The request's community, kept on the answer too: a dashboard's latest comments are then read from
    # the community's own answers (rating_community_comment_idx) rather than found among the district's.
    community = models.ForeignKey(
        Community,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
        verbose_name=_("community"),
    )
    solved = models.BooleanField(_("solved"))
    satisfaction = models.CharField(_("satisfaction"), max_length=16, choices=Satisfaction.choices)
    comment = models.TextField(_("comment"), blank=True)
    source = models.CharField(_("answered via"), max_length=16, choices=RatingSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("follow-up answer")
        verbose_name_plural = _("follow-up answers")
        constraints = [
            _in("satisfaction", Satisfaction.values, "rating_satisfaction_valid"),
            _in("source", RatingSource.values, "rating_source_valid"),
        ]
        indexes = [
            # Answers with a comment, newest first: the latest comments of several communities (a
            # subdistrict's) are found walking it backwards.
            models.Index(fields=["-at", "-id"], name="rating_comment_at_idx", condition=~Q(comment="")),
            # One community's answers with a comment, newest first: its dashboard's five latest.
            models.Index(
                fields=["community", "-at", "-id"],
                name="rating_community_comment_idx",
                condition=~Q(comment=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.satisfaction}"

    def save(self, *args, **kwargs):
        if self.community_id is None and self.request_id is not None:
            self.community_id = self.request.community_id  # the request as given, or one query
        super().save(*args, **kwargs)


class Notification(models.Model):
    """An in-app notice to a user about a request (assigned to you, urged, extension decided…)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("user"),
    )
    event = models.ForeignKey(
        RequestEvent, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("event")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="notification_unique")]
        indexes = [
            # The unread badge in the navigation bar.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.event_id}"
