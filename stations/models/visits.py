"""Walking service: home visits (走访 / 民情日志) and recurring errands for residents (代开药, 代买)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from residents.models import Building, Community, Household, Resident
from stations.models.staff import SocialWorker


class Visit(models.Model):
    """A worker's record of a household visit: when, who was met, what was found, what was done."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="visits", verbose_name=_("community")
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        related_name="visits",
        null=True,
        blank=True,
        verbose_name=_("household"),
    )
    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="visits", verbose_name=_("building")
    )
    worker = models.ForeignKey(
        SocialWorker, on_delete=models.PROTECT, related_name="visits", verbose_name=_("worker")
    )
    visited_at = models.DateTimeField(_("visited"))
    met = models.CharField(_("who was met"), max_length=200, blank=True)
    found = models.TextField(_("what was found"), blank=True)
    action = models.TextField(_("what was done"), blank=True)
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, editable=False)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-visited_at", "-pk"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [
            # Care cadence: the latest visit of each household.
            models.Index(fields=["household", "-visited_at"], name="visit_household_at_idx"),
            # A worker's visit log, newest first.
            models.Index(fields=["worker", "-visited_at"], name="visit_worker_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visited_at:%Y-%m-%d} {self.household or self.building}"

    def get_absolute_url(self) -> str:
        return reverse("stations:visit_detail", args=[self.pk])


class RecurringErrand(models.Model):
    """A standing errand, e.g. fetch medicine for this resident every 14 days (代开药). The
    `create_due_errands` command turns due errands into requests, idempotently."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="errands", verbose_name=_("community")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="errands", verbose_name=_("for resident")
    )
    category = models.ForeignKey(
        "stations.Category", on_delete=models.PROTECT, related_name="errands", verbose_name=_("category")
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("details"), blank=True)
    every_days = models.PositiveSmallIntegerField(_("every (days)"))
    next_due_on = models.DateField(_("next due"))
    assignee = models.ForeignKey(
        SocialWorker,
        on_delete=models.SET_NULL,
        related_name="errands",
        null=True,
        blank=True,
        verbose_name=_("usually done by"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("set up by")
    )
    created_at = models.DateTimeField(_("set up"), auto_now_add=True)
    # The form's key: a second submit of the same form (a double tap) finds this errand.
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["next_due_on", "pk"]
        verbose_name = _("recurring errand")
        verbose_name_plural = _("recurring errands")
        constraints = [
            models.CheckConstraint(condition=Q(every_days__gte=1), name="errand_every_positive"),
        ]
        indexes = [
            # The daily command: active errands due today or earlier.
            models.Index(fields=["next_due_on"], condition=Q(is_active=True), name="errand_active_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title
