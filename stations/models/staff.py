"""The station of a community and the social workers who staff it."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from community.lib.models import ChoiceLabels
from residents.models import Building, Community
from stations.choices import WorkerType


class Station(models.Model):
    """The one desk of a community (多站合一): it serves the party-building, community and
    business-building lines from one window and one queue."""

    community = models.OneToOneField(
        Community, on_delete=models.PROTECT, related_name="station", verbose_name=_("community")
    )
    name = models.CharField(_("name"), max_length=64)
    address = models.CharField(_("address"), max_length=128, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=64, blank=True)

    class Meta:
        ordering = ["community"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")

    def __str__(self) -> str:
        return self.name


class SocialWorker(ChoiceLabels, models.Model):
    """A social worker's profile: community, type, and the buildings they walk (包片)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="social_worker",
        verbose_name=_("user"),
    )
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="social_workers", verbose_name=_("community")
    )
    worker_type = models.CharField(_("type"), max_length=16, choices=WorkerType.choices)
    display_name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("work phone"), max_length=20, blank=True)
    buildings = models.ManyToManyField(
        Building, related_name="responsible_workers", blank=True, verbose_name=_("responsible for buildings")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["community", "display_name"]
        verbose_name = _("social worker")
        verbose_name_plural = _("social workers")
        constraints = [
            models.CheckConstraint(
                condition=Q(worker_type__in=WorkerType.values), name="socialworker_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("stations:worker_detail", args=[self.pk])


class Leave(models.Model):
    """A period a worker is away; their work goes to the named cover (or is spread by the desk)."""

    worker = models.ForeignKey(
        SocialWorker, on_delete=models.PROTECT, related_name="leaves", verbose_name=_("worker")
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until (inclusive)"))
    cover = models.ForeignKey(
        SocialWorker,
        on_delete=models.SET_NULL,
        related_name="covering",
        null=True,
        blank=True,
        verbose_name=_("covered by"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("leave")
        verbose_name_plural = _("leaves")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="leave_ends_after_start"),
            models.CheckConstraint(condition=~Q(cover=F("worker")), name="leave_cover_not_self"),
        ]
        indexes = [
            # "Who is on leave today": leaves of a worker that end on or after today.
            models.Index(fields=["worker", "ends_on"], name="leave_worker_ends_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.worker}: {self.starts_on} – {self.ends_on}"
