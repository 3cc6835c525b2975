"""Writes to the registry. One function per action; each validates with the same rules as the forms,
runs in one transaction and leaves nothing half-saved."""

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from community.lib.submissions import earlier_submission
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
from residents.choices import Gender, LegalBasis, Relation
from residents.models import (
    Building,
    CareTag,
    Community,
    Enterprise,
    Household,
    Resident,
)

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


# PIPL art. 31: a child under this age consents through a guardian.
CHILD_CONSENT_AGE = 14


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years on `day` (a child born on 29 February turns a year older on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def normalise_legal_basis(
    *, legal_basis: str, consent_date: dt.date | None, guardian_name: str, birth_date: dt.date | None
) -> dict[str, Any]:
    """Why the community may hold the person's data (PIPL art. 13), checked and made consistent.

    Consent is dated, on a day that has come; a child under 14 held by consent needs the name of the
    guardian who consented (art. 31); a statutory duty has neither, so switching to it clears them.
    Forms call this too, so both give the same errors."""
    if legal_basis not in LegalBasis.values:
        raise ValidationError(
            {
                "legal_basis": ValidationError(
                    _("Choose why the community may hold this data."), code="invalid"
                )
            }
        )
    if legal_basis == LegalBasis.STATUTORY:
        return {"legal_basis": legal_basis, "consent_date": None, "guardian_name": ""}
    today = timezone.localdate()  # Beijing's today, not the server's
    errors: dict[str, list[ValidationError]] = {}
    guardian = ""
    if (guardian_name or "").strip():
        try:
            guardian = normalize_name(guardian_name)
        except ValidationError as exc:
            errors["guardian_name"] = [exc]
    if consent_date is None:
        errors["consent_date"] = [
            ValidationError(_("Enter the date the consent was given."), code="consent_date_required")
        ]
    elif consent_date > today:
        errors["consent_date"] = [
            ValidationError(_("The consent date cannot be in the future."), code="consent_date_future")
        ]
    elif birth_date is not None and consent_date < birth_date:
        errors["consent_date"] = [
            ValidationError(_("The consent date is before the birth date."), code="consent_before_birth")
        ]
    if (
        birth_date is not None
        and age_on(birth_date, today) < CHILD_CONSENT_AGE
        and not guardian
        and "guardian_name" not in errors
    ):
        errors["guardian_name"] = [
            ValidationError(
                _(
                    "This is a child under %(age)d: their data is held by consent only if a guardian "
                    "gave it. Enter the guardian's name."
                )
                % {"age": CHILD_CONSENT_AGE},
                code="guardian_required",
            )
        ]
    if errors:
        raise ValidationError(errors)
    return {"legal_basis": legal_basis, "consent_date": consent_date, "guardian_name": guardian}


def _normalise_all(*, person: dict[str, Any], basis: dict[str, Any]) -> dict[str, Any]:
    """normalise_person and normalise_legal_basis together, so every bad field is reported at once. The
    age rule reads the birth date as normalised (an ID number sets it)."""
    errors: dict[str, list[ValidationError]] = {}
    clean: dict[str, Any] = {}
    try:
        clean = normalise_person(**person)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    birth_date = clean.get("birth_date", person["birth_date"])
    try:
        clean.update(normalise_legal_basis(**basis, birth_date=birth_date))
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, []).extend(field_errors)
    if errors:
        raise ValidationError(errors)
    return clean


def refuse_erased(resident: Resident) -> None:
    if resident.erased_at is not None:
        raise ValidationError(
            _("This resident's personal data was erased; the record can no longer be changed or revealed."),
            code="erased",
        )


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
    legal_basis: str = LegalBasis.STATUTORY,
    consent_date: dt.date | None = None,
    guardian_name: str = "",
    submission_key: uuid.UUID | None = None,
) -> Resident:
    """Register a resident. With the form's submission_key, a second submit of the same form (a double
    tap, a resend after a timeout) returns the resident the first one created instead of a twin."""
    if (earlier := earlier_submission(Resident, submission_key, community.pk)) is not None:
        return earlier
    clean = _normalise_all(
        person={
            "name": name,
            "phone": phone,
            "id_number": id_number,
            "birth_date": birth_date,
            "gender": gender,
        },
        basis={"legal_basis": legal_basis, "consent_date": consent_date, "guardian_name": guardian_name},
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
        submission_key=submission_key,
        **clean,
    )
    try:
        _save_resident(resident)
    except (IntegrityError, ValidationError):  # the same form submitted twice at once: the other saved it
        # (with an ID number, the twin's unique ID number may be what refused this one)
        if (earlier := earlier_submission(Resident, submission_key, community.pk)) is not None:
            return earlier
        raise
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
    legal_basis: str = UNSET,
    consent_date: dt.date | None = UNSET,
    guardian_name: str = UNSET,
) -> Resident:
    """Change what is given; phone and ID number left UNSET keep their stored values. The legal basis
    is checked again against the result (a birth date that makes the person a child needs a guardian)."""
    locked = Resident.objects.select_for_update().select_related("community").get(pk=resident.pk)
    refuse_erased(locked)
    check_version(locked, version)

    def given(field: str, value: Any) -> Any:
        return getattr(locked, field) if value is UNSET else value

    clean = _normalise_all(
        person={
            "name": given("name", name),
            "phone": given("phone", phone),
            "id_number": given("id_number", id_number),
            "birth_date": given("birth_date", birth_date),
            "gender": given("gender", gender),
        },
        basis={
            "legal_basis": given("legal_basis", legal_basis),
            "consent_date": given("consent_date", consent_date),
            "guardian_name": given("guardian_name", guardian_name),
        },
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
        nfkc(clean_text(room, multiline=False)).replace(" ", "").upper()
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
