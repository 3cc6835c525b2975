"""Choices of the registry. Labels and badge colours come from one mapping each."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BuildingKind(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential building")
    APARTMENT = "apartment", _("Apartment block")
    OFFICE = "office", _("Office building")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    UNKNOWN = "unknown", _("Not recorded")


class TagColour(models.TextChoices):
    """Bootstrap colour names, so a care tag's badge colour is data, not an if-chain."""

    RED = "danger", _("Red")
    ORANGE = "warning", _("Orange")
    BLUE = "primary", _("Blue")
    GREEN = "success", _("Green")
    GREY = "secondary", _("Grey")


class PersonalField(models.TextChoices):
    """Personal data that is masked until revealed, and logged when it is."""

    PHONE = "phone", _("Phone number")
    ID_NUMBER = "id_number", _("ID card number")


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", _("Checking rows")
    READY = "ready", _("Ready to import")
    INVALID = "invalid", _("Has errors")
    DONE = "done", _("Imported")


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    OTHER = "other", _("Other")


class LegalBasis(models.TextChoices):
    """Why OneDesk may hold a resident's data (PIPL art. 13): a statutory duty of the residents'
    committee (population and care registers), or the person's own consent."""

    STATUTORY = "statutory", _("Statutory duty")
    CONSENT = "consent", _("Consent")
