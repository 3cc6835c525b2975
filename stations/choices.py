"""Choices of the one desk. Labels and badge colours come from one mapping each."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StationLine(models.TextChoices):
    """The old station a matter would have gone to. Kept for statistics; never a separate queue."""

    PARTY = "party", _("Party-building")
    COMMUNITY = "community", _("Community")
    BUSINESS = "business", _("Business-building")


class WorkerType(models.TextChoices):
    """The three kinds of social worker (社工): they drive routing, workload and per-type figures."""

    LIAISON = "liaison", _("Resident liaison (民情)")
    PROJECT = "project", _("Project (项目)")
    GOVERNMENT = "government", _("Government affairs (政务)")


class Role(models.TextChoices):
    """Roles are Django groups with these names; their permissions are listed in stations.roles."""

    WORKER = "social_worker", _("Social worker")
    HEAD = "committee_head", _("Committee head")
    SUBDISTRICT = "subdistrict_staff", _("Subdistrict staff")
    RESIDENT = "resident", _("Resident")
