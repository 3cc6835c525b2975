"""Activity spaces and courses (空间预约): rooms residents and enterprise staff can book, and
courses such as yoga and dance whose sessions hold a room. No two active bookings of one space
overlap: PostgreSQL enforces it with an exclusion constraint, the booking service on SQLite."""

import secrets

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from community.lib.models import ChoiceLabels
from residents.models import Community, Resident
from stations.choices import (
    ACTIVE_BOOKING_STATES,
    BOOKING_BADGE,
    AttendanceStatus,
    BookingKind,
    BookingStatus,
    EnrolmentStatus,
    SpaceKind,
)


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the exclusion constraint


class Space(ChoiceLabels, models.Model):
    """A bookable room of the station: what it is for, how big, when it is open, who may book it."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="spaces", verbose_name=_("community")
    )
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(
        _("kind"), max_length=20, choices=SpaceKind.choices, default=SpaceKind.ACTIVITY_HALL
    )
    description = models.TextField(_("what it is for"), blank=True)
    area_m2 = models.DecimalField(_("area (m²)"), max_digits=7, decimal_places=1)
    capacity = models.PositiveSmallIntegerField(_("capacity (people)"))
    photo = models.FileField(_("photo"), upload_to="spaces/", blank=True)
    open_to_residents = models.BooleanField(_("residents may book"), default=True)
    open_to_enterprise_staff = models.BooleanField(_("enterprise staff may book"), default=True)
    requires_approval = models.BooleanField(_("bookings need approval"), default=False)
    horizon_days = models.PositiveSmallIntegerField(_("bookable this many days ahead"), default=14)
    min_minutes = models.PositiveSmallIntegerField(_("shortest booking (minutes)"), default=30)
    max_minutes = models.PositiveSmallIntegerField(_("longest booking (minutes)"), default=240)
    slot_minutes = models.PositiveSmallIntegerField(_("time grid (minutes)"), default=30)
    weekly_quota_hours = models.PositiveSmallIntegerField(
        _("hours per person per week"), default=4, help_text=_("0 for no limit.")
    )
    feed_token = models.CharField(
        _("calendar feed token"), max_length=40, unique=True, default=new_feed_token
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("sort position"), default=0)

    class Meta:
        ordering = ["community", "position", "name"]
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="space_unique_name"),
            models.CheckConstraint(condition=Q(kind__in=SpaceKind.values), name="space_kind_valid"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="space_capacity_positive"),
            models.CheckConstraint(
                condition=Q(min_minutes__gte=1, max_minutes__gte=F("min_minutes"), slot_minutes__gte=5),
                name="space_lengths_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("stations:space_week", args=[self.pk])


class OpeningHours(models.Model):
    """One opening interval of a space on a weekday (0 = Monday). A day may have several."""

    space = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("space")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"))
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["space", "weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="openinghours_weekday_valid"),
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")), name="openinghours_closes_after_opens"
            ),
            models.UniqueConstraint(fields=["space", "weekday", "opens"], name="openinghours_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


class ClosedDate(models.Model):
    """A whole day a space is closed (public holiday, cleaning)."""

    space = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="closed_dates", verbose_name=_("space")
    )
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        ordering = ["space", "date"]
        verbose_name = _("closed date")
        verbose_name_plural = _("closed dates")
        constraints = [models.UniqueConstraint(fields=["space", "date"], name="closeddate_unique")]

    def __str__(self) -> str:
        return f"{self.space_id} {self.date}"


class BookingSeries(models.Model):
    """A weekly recurring booking (the same slot N weeks running), created all at once."""

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="series", verbose_name=_("space"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    weeks = models.PositiveSmallIntegerField(_("weeks"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("booking series")
        verbose_name_plural = _("booking series")

    def __str__(self) -> str:
        return f"{self.space_id} × {self.weeks}"


class Course(models.Model):
    """A course (yoga, dance, …) that residents and enterprise staff enrol in; its sessions hold a space."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="courses", verbose_name=_("community")
    )
    space = models.ForeignKey(
        Space, on_delete=models.PROTECT, related_name="courses", verbose_name=_("space")
    )
    title = models.CharField(_("title"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    teacher = models.CharField(_("teacher"), max_length=64, blank=True)
    capacity = models.PositiveSmallIntegerField(_("places"))
    open_to_residents = models.BooleanField(_("residents may enrol"), default=True)
    open_to_enterprise_staff = models.BooleanField(_("enterprise staff may enrol"), default=True)
    is_active = models.BooleanField(_("open for enrolment"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["community", "title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [models.CheckConstraint(condition=Q(capacity__gte=1), name="course_capacity_positive")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("stations:course_detail", args=[self.pk])


class Booking(ChoiceLabels, models.Model):
    """A time range of a space held by a booking, a course session or a block."""

    space = models.ForeignKey(
        Space, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("space")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=BookingKind.choices, default=BookingKind.BOOKING)
    status = models.CharField(
        _("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    # Who the room is for (a resident, who may be an enterprise employee); empty for blocks and courses.
    resident = models.ForeignKey(
        Resident,
        on_delete=models.PROTECT,
        related_name="bookings",
        null=True,
        blank=True,
        verbose_name=_("for"),
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("booked by")
    )
    course = models.ForeignKey(
        Course,
        on_delete=models.PROTECT,
        related_name="sessions",
        null=True,
        blank=True,
        verbose_name=_("course"),
    )
    series = models.ForeignKey(
        BookingSeries,
        on_delete=models.PROTECT,
        related_name="bookings",
        null=True,
        blank=True,
        verbose_name=_("series"),
    )
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    attendees = models.PositiveSmallIntegerField(_("expected attendees"), default=1)
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    created_at = models.DateTimeField(_("booked"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "submission_key"])

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_ends_after_start"),
            models.CheckConstraint(condition=Q(kind__in=BookingKind.values), name="booking_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=BookingStatus.values), name="booking_status_valid"),
            models.CheckConstraint(
                condition=~Q(kind=BookingKind.COURSE) | Q(course__isnull=False),
                name="booking_course_session_has_course",
            ),
            # No two active bookings of one space overlap; half-open [start, end) so back-to-back works.
            # PostgreSQL only (btree_gist); migration 0002 adds it there and skips it on SQLite.
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("space", RangeOperators.EQUAL),
                ],
                condition=Q(status__in=sorted(ACTIVE_BOOKING_STATES)),
            ),
        ]
        indexes = [
            # The week view and the overlap check: a space's bookings by time.
            models.Index(fields=["space", "starts_at"], name="booking_space_start_idx"),
            # My bookings and the weekly quota: a resident's bookings by time.
            models.Index(fields=["resident", "starts_at"], name="booking_resident_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.space_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def status_badge(self) -> str:
        return BOOKING_BADGE[self.status]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BOOKING_STATES


class Enrolment(ChoiceLabels, models.Model):
    """A person's place in a course, or on its waiting list (in order of enrolment)."""

    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("course")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("participant")
    )
    status = models.CharField(_("status"), max_length=12, choices=EnrolmentStatus.choices)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("enrolled by")
    )
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)
    promoted_at = models.DateTimeField(_("moved up from the waiting list"), null=True, blank=True)
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        ordering = ["course", "created_at", "pk"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EnrolmentStatus.values), name="enrolment_status_valid"
            ),
            # One current place (or waiting-list entry) per person and course.
            models.UniqueConstraint(
                fields=["course", "resident"],
                condition=~Q(status=EnrolmentStatus.LEFT),
                name="enrolment_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_id}/{self.resident_id} {self.status}"


class Attendance(ChoiceLabels, models.Model):
    """Whether an enrolled person came to one session; staff check people in."""

    session = models.ForeignKey(
        Booking, on_delete=models.CASCADE, related_name="attendance", verbose_name=_("session")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="attendance", verbose_name=_("participant")
    )
    status = models.CharField(_("attendance"), max_length=8, choices=AttendanceStatus.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now=True)

    class Meta:
        ordering = ["session", "resident"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(fields=["session", "resident"], name="attendance_unique"),
            models.CheckConstraint(
                condition=Q(status__in=AttendanceStatus.values), name="attendance_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.resident_id} {self.status}"
