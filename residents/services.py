"""Writes to the registry. One function per action; each validates with the same rules as the forms,
runs in one transaction and leaves nothing half-saved."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from community.lib.validators import (
    birth_date_from_id,
    clean_text,
    gender_from_id,
    nfkc,
    normalize_credit_code,
    normalize_id_number,
    normalize_name,
    normalize_phone,
)
from residents.choices import Gender, PersonalField, Relation
from residents.models import Building, CareTag, Community, Enterprise, Household, PersonalDataAccess, Resident
from residents.selectors import communities_visible_to

UNSET: Any = object()


def pinyin_of(name: str) -> tuple[str, str]:
    """张焱 → ("zhangyan", "zy"); John Smith → ("johnsmith", "js"). Non-Chinese runs are split into
    words so their initials are initials; the middle dot and spaces are dropped."""
    words = [
        w.lower()
        for w in lazy_pinyin(name, errors=lambda chars: chars.replace("·", " ").split())
        if w.strip(" ·")
    ]
    return "".join(words)[:255], "".join(w[0] for w in words)[:64]


def check_version(obj, version: str | None) -> None:
    """Optimistic lock: the form carried the row's updated_at; if it moved on, somebody saved first."""
    if version is not None and version != obj.updated_at.isoformat():
        raise ValidationError(
            _(
                "Someone else changed this record while you were editing it. The latest version is shown; "
                "please make your change again."
            ),
            code="stale",
        )


def normalise_person(
    *, name: str, phone: str, id_number: str, birth_date: dt.date | None, gender: str
) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}
    clean: dict[str, Any] = {"birth_date": birth_date, "gender": gender or Gender.UNKNOWN}
    for field, func, value in (
        ("name", normalize_name, name),
        ("phone", normalize_phone, phone),
        ("id_number", normalize_id_number, id_number),
    ):
        if field != "name" and not (value or "").strip():
            clean[field] = ""
            continue
        try:
            clean[field] = func(value)
        except ValidationError as exc:
            errors[field] = [exc]
    if clean.get("id_number"):
        # The ID number says when and as what the person was born; a contradicting entry is a typo.
        id_birth = birth_date_from_id(clean["id_number"])
        if birth_date and birth_date != id_birth:
            errors.setdefault("birth_date", []).append(
                ValidationError(
                    _("The birth date does not match the ID card number (%(date)s).")
                    % {"date": id_birth.isoformat()},
                    code="birth_date_mismatch",
                )
            )
        clean["birth_date"] = id_birth
        if clean["gender"] == Gender.UNKNOWN:
            clean["gender"] = gender_from_id(clean["id_number"])
    if (
        clean["birth_date"] and clean["birth_date"] > timezone.localdate()
    ):  # Beijing's today, not the server's
        errors.setdefault("birth_date", []).append(
            ValidationError(_("The birth date cannot be in the future."), code="birth_date_future")
        )
    if errors:
        raise ValidationError(errors)
    return clean


def _check_household_scope(
    community: Community, household: Household | None, employer: Enterprise | None
) -> None:
    if household is not None and household.building.community_id != community.pk:
        raise ValidationError({"household": _("This household belongs to another community.")})
    if employer is not None and employer.community_id != community.pk:
        raise ValidationError({"employer": _("This enterprise belongs to another community.")})


def _save_resident(resident: Resident) -> Resident:
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError:
        if (
            resident.id_number
            and Resident.objects.filter(id_number=resident.id_number).exclude(pk=resident.pk).exists()
        ):
            raise ValidationError(
                {"id_number": _("A resident with this ID card number is already registered.")}
            ) from None
        raise
    return resident


@transaction.atomic
def resident_create(
    *,
    actor,
    community: Community,
    name: str,
    phone: str = "",
    id_number: str = "",
    gender: str = "",
    birth_date: dt.date | None = None,
    household: Household | None = None,
    relation: str = Relation.OTHER,
    employer: Enterprise | None = None,
    care_tags: list[CareTag] | None = None,
    notes: str = "",
) -> Resident:
    clean = normalise_person(
        name=name, phone=phone, id_number=id_number, birth_date=birth_date, gender=gender
    )
    _check_household_scope(community, household, employer)
    name_pinyin, name_initials = pinyin_of(clean["name"])
    resident = Resident(
        community=community,
        household=household,
        relation=relation,
        employer=employer,
        name_pinyin=name_pinyin,
        name_initials=name_initials,
        notes=clean_text(notes),
        **clean,
    )
    _save_resident(resident)
    if care_tags:
        resident.care_tags.set(care_tags)
    return resident


@transaction.atomic
def resident_update(
    *,
    actor,
    resident: Resident,
    version: str | None = None,
    name: str = UNSET,
    phone: str = UNSET,
    id_number: str = UNSET,
    gender: str = UNSET,
    birth_date=UNSET,
    household: Household | None = UNSET,
    relation: str = UNSET,
    employer=UNSET,
    care_tags: list[CareTag] | None = UNSET,
    notes: str = UNSET,
) -> Resident:
    """Change what is given; phone and ID number left UNSET keep their stored values."""
    locked = Resident.objects.select_for_update().select_related("community").get(pk=resident.pk)
    check_version(locked, version)
    clean = normalise_person(
        name=locked.name if name is UNSET else name,
        phone=locked.phone if phone is UNSET else phone,
        id_number=locked.id_number if id_number is UNSET else id_number,
        birth_date=locked.birth_date if birth_date is UNSET else birth_date,
        gender=locked.gender if gender is UNSET else gender,
    )
    if household is not UNSET:
        locked.household = household
    if employer is not UNSET:
        locked.employer = employer
    _check_household_scope(locked.community, locked.household, locked.employer)
    for field, value in clean.items():
        setattr(locked, field, value)
    locked.name_pinyin, locked.name_initials = pinyin_of(locked.name)
    if relation is not UNSET:
        locked.relation = relation
    if notes is not UNSET:
        locked.notes = clean_text(notes)
    _save_resident(locked)
    if care_tags is not UNSET:
        locked.care_tags.set(care_tags or [])
    return locked


def _save_household(household: Household) -> Household:
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        raise ValidationError(
            {"room": _("This building already has a household at this entrance and room.")}
        ) from None
    return household


def normalise_dwelling(building: Building, entrance: int, room: str) -> str:
    room = (
        nfkc(clean_text(room)).replace(" ", "").upper()
    )  # "３０１" is room 301, as the directory search reads it
    errors = {}
    if not room:
        errors["room"] = _("Enter the room number.")
    elif len(room) > 16:
        errors["room"] = _("At most %(max)d characters.") % {"max": 16}
    if not 1 <= entrance <= building.entrances:
        errors["entrance"] = _("Building %(building)s has entrances 1 to %(count)d.") % {
            "building": building.number,
            "count": building.entrances,
        }
    if errors:
        raise ValidationError(errors)
    return room


@transaction.atomic
def household_create(*, actor, building: Building, entrance: int, room: str, notes: str = "") -> Household:
    room = normalise_dwelling(building, entrance, room)
    return _save_household(
        Household(building=building, entrance=entrance, room=room, notes=clean_text(notes))
    )


@transaction.atomic
def household_update(
    *,
    actor,
    household: Household,
    version: str | None = None,
    entrance: int = UNSET,
    room: str = UNSET,
    notes: str = UNSET,
) -> Household:
    locked = Household.objects.select_for_update().select_related("building").get(pk=household.pk)
    check_version(locked, version)
    if entrance is not UNSET:
        locked.entrance = entrance
    if room is not UNSET:
        locked.room = room
    locked.room = normalise_dwelling(locked.building, locked.entrance, locked.room)
    if notes is not UNSET:
        locked.notes = clean_text(notes)
    return _save_household(locked)


@transaction.atomic
def enterprise_create(
    *,
    actor,
    building: Building,
    name: str,
    credit_code: str,
    floor: str = "",
    contact_name: str = "",
    contact_phone: str = "",
) -> Enterprise:
    errors = {}
    clean: dict[str, str] = {"name": clean_text(name)}
    if not clean["name"]:
        errors["name"] = ValidationError(_("Enter the enterprise's name."), code="required")
    elif len(clean["name"]) > 128:
        errors["name"] = ValidationError(_("At most %(max)d characters.") % {"max": 128}, code="too_long")
    try:
        clean["credit_code"] = normalize_credit_code(credit_code)
    except ValidationError as exc:
        errors["credit_code"] = exc
    if contact_phone.strip():
        try:
            clean["contact_phone"] = normalize_phone(contact_phone)
        except ValidationError as exc:
            errors["contact_phone"] = exc
    if building.kind != "office":
        errors["building"] = ValidationError(_("Enterprises are registered in office buildings."))
    if errors:
        raise ValidationError(errors)
    if Enterprise.objects.filter(credit_code=clean["credit_code"]).exists():
        raise ValidationError(
            {"credit_code": _("An enterprise with this credit code is already registered.")}
        )
    enterprise = Enterprise(
        community=building.community,
        building=building,
        name=clean["name"],
        floor=clean_text(floor),
        contact_name=clean_text(contact_name),
        contact_phone=clean.get("contact_phone", ""),
        credit_code=clean["credit_code"],
    )
    try:
        with transaction.atomic():  # a concurrent registration of the same code loses here, not with a 500
            enterprise.save()
    except IntegrityError:
        raise ValidationError(
            {"credit_code": _("An enterprise with this credit code is already registered.")}
        ) from None
    return enterprise


def personal_data_reveal(
    *, actor, resident: Resident, field: str, reason: str, ip_address: str | None
) -> str:
    """Show one masked value to a user allowed to see it, and log who saw whose, why and from where."""
    if not actor.has_perm("residents.reveal_personal_data"):
        raise PermissionError
    # The permission says "may reveal", the scope says "whose": a head of A never reveals B's residents.
    if not communities_visible_to(actor).filter(pk=resident.community_id).exists():
        raise PermissionError
    if field not in PersonalField.values:
        raise ValidationError(_("Unknown field."), code="bad_field")
    reason = clean_text(reason, max_length=200)
    if len(reason) < 2:
        raise ValidationError(
            {"reason": ValidationError(_("Say why you need to see this number."), code="reason_required")}
        )
    PersonalDataAccess.objects.create(
        actor=actor, resident=resident, field=field, reason=reason, ip_address=ip_address
    )
    return getattr(resident, field)
