"""Checking rows against the registry, a step at a time, with the same rules as the forms."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from community.lib.validators import (
    clean_text,
    nfkc,
    normalize_id_number,
    normalize_name,
)
from residents import services
from residents.choices import ImportStatus, Relation
from residents.imports.sheets import (
    _COMPACT_DATE_RE,
    _DATE_RE,
    _ENTRANCE_RE,
    _GENDERS,
    _RELATIONS,
    _TAG_SEPARATORS,
    CHECK_STEP,
    ERROR,
    FIELDS,
    MAX_ERRORS,
    NEW,
    NOTES_MAX_LENGTH,
    PREVIEW_ROWS,
    UNCHANGED,
    UPDATED,
)
from residents.models import Building, CareTag, Community, Household, ImportBatch, Resident


def _parse_gender(text: str) -> str | None:
    """'' for an empty cell, None for a value we do not understand."""
    value = nfkc(text).lower()
    return _GENDERS.get(value) if value else ""


def _parse_relation(text: str) -> str | None:
    value = nfkc(text).lower()
    return _RELATIONS.get(value) if value else ""


def _parse_date(text: str) -> dt.date | None:
    """1950-03-15, 1950/3/15, 1950.3.15, 1950年3月15日, 19500315. Raises ValueError when unreadable."""
    value = nfkc(text)
    match = _DATE_RE.fullmatch(value) or _COMPACT_DATE_RE.fullmatch(value)
    if match is None:
        raise ValueError(value)
    return dt.date(*(int(part) for part in match.groups()))


def _parse_entrance(text: str) -> int | None:
    value = nfkc(text)
    if not value:
        return 1
    match = _ENTRANCE_RE.fullmatch(value)
    return int(match.group(1)) if match else None


def _try(func, value: str) -> str | None:
    try:
        return func(value)
    except ValidationError:
        return None


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {("" if name == "__all__" else name): messages for name, messages in exc.message_dict.items()}
    return {"": exc.messages}


class _Context:
    """What the checks compare against, loaded with a constant number of queries per step."""

    def __init__(self, community: Community) -> None:
        self.community = community
        buildings = list(Building.objects.filter(community=community))
        self.buildings: dict[str, Building] = {}
        for building in buildings:  # exact numbers win over the short forms below
            self.buildings.setdefault(building.number, building)
        for building in buildings:
            number = nfkc(building.number)
            self.buildings.setdefault(number, building)
            if number.endswith("号楼"):  # "3" and "3号" mean 3号楼
                self.buildings.setdefault(number[:-2], building)
                self.buildings.setdefault(number[:-1], building)
        self.tags: dict[str, CareTag] = {}
        for tag in CareTag.objects.all():
            self.tags.setdefault(tag.name, tag)
            self.tags.setdefault(tag.code.lower(), tag)
        self.households: dict[tuple[int, int, str], Household] = {}
        self.by_id: dict[str, Resident] = {}
        self.by_home: dict[tuple[int, str], list[Resident]] = {}

    def building(self, text: str) -> Building | None:
        return self.buildings.get(text.strip()) or self.buildings.get(nfkc(text))

    def load_people(self, rows: list[dict[str, Any]]) -> None:
        """The households and residents these rows may refer to: two or three queries for any number of rows."""
        keys = [_row_keys(raw, self) for raw in rows]
        rooms = {key.room for key in keys if key.room}
        self.households = (
            {
                (household.building_id, household.entrance, household.room): household
                for household in Household.objects.filter(building__community=self.community, room__in=rooms)
            }
            if rooms
            else {}
        )
        ids = {key.id_number for key in keys if key.id_number}
        names = {key.name for key in keys if key.name}
        homes = [self.households[key.dwelling].pk for key in keys if key.dwelling in self.households]
        query = Q(id_number__in=ids) if ids else Q(pk__in=[])
        if homes and names:
            query |= Q(household__in=homes, name__in=names)
        self.by_id, self.by_home = {}, {}
        if not ids and not (homes and names):
            return
        # The ID number is unique across communities, so this also finds people registered elsewhere.
        for resident in Resident.objects.filter(query).prefetch_related("care_tags").order_by("pk"):
            if resident.id_number:
                self.by_id[resident.id_number] = resident
            if resident.household_id:
                self.by_home.setdefault((resident.household_id, resident.name), []).append(resident)


@dataclass
class _Keys:
    """A row's building, entrance, room, name and ID number, normalised the services' way (None if invalid)."""

    building: Building | None
    entrance: int | None
    room: str | None
    name: str | None
    id_number: str | None
    errors: dict[str, list[str]]

    @property
    def dwelling(self) -> tuple[int, int, str] | None:
        if self.building is None or self.entrance is None or self.room is None:
            return None
        return self.building.pk, self.entrance, self.room


def _row_keys(raw: dict[str, Any], ctx: _Context) -> _Keys:
    errors: dict[str, list[str]] = {}
    building = ctx.building(raw["building"]) if raw["building"].strip() else None
    if building is None:
        errors["building"] = [
            _("There is no building %(building)s in this community.") % {"building": raw["building"]}
            if raw["building"].strip()
            else _("Enter the building.")
        ]
    entrance = _parse_entrance(raw["entrance"])
    if entrance is None:
        errors["entrance"] = [_("Write the entrance as a number, e.g. 2.")]
    room = None
    if building is not None and entrance is not None:
        try:
            room = services.normalise_dwelling(building, entrance, raw["room"])
        except ValidationError as exc:
            for name, messages in _messages(exc).items():
                errors.setdefault(name, []).extend(messages)
    elif not raw["room"].strip():
        errors["room"] = [_("Enter the room number.")]
    id_number = _try(normalize_id_number, raw["id_number"]) if raw["id_number"].strip() else None
    return _Keys(building, entrance, room, _try(normalize_name, raw["name"]), id_number, errors)


@dataclass
class _Seen:
    """What the rows above the current one claimed: an ID number, a person in a dwelling, a new dwelling."""

    ids: dict[str, int] = field(default_factory=dict)
    people: dict[tuple[tuple[int, int, str], str], tuple[int, bool]] = field(default_factory=dict)
    dwellings: set[tuple[int, int, str]] = field(default_factory=set)

    def remember(self, number: int, keys: _Keys) -> None:
        if keys.id_number:
            self.ids.setdefault(keys.id_number, number)
        if keys.dwelling is not None:
            self.dwellings.add(keys.dwelling)
            if keys.name:
                self.people.setdefault((keys.dwelling, keys.name), (number, bool(keys.id_number)))


@dataclass
class _Plan:
    """What applying one valid row does."""

    row: int
    action: str
    building: Building
    entrance: int
    room: str
    household: Household | None  # None: the dwelling is new, created by the first row naming it
    new_household: bool
    resident: Resident | None
    fields: dict[str, Any]

    @property
    def dwelling(self) -> tuple[int, int, str]:
        return self.building.pk, self.entrance, self.room


def _find_resident(keys: _Keys, household: Household | None, ctx: _Context) -> tuple[Resident | None, str]:
    """By ID number if the row has one, else by household and name. Returns (resident, error)."""
    if keys.id_number:
        resident = ctx.by_id.get(keys.id_number)
        if resident is not None:
            if resident.community_id != ctx.community.pk:
                return None, _("A resident with this ID card number is registered in another community.")
            return resident, ""
    if household is None or not keys.name:
        return None, ""
    namesakes = ctx.by_home.get((household.pk, keys.name), [])
    if not keys.id_number:
        return (namesakes[0] if namesakes else None), ""
    without_id = [resident for resident in namesakes if not resident.id_number]
    if without_id:
        return without_id[0], ""
    if namesakes:
        return None, _(
            "%(name)s of this household is registered with another ID card number; correct it on "
            "the resident's page first."
        ) % {"name": keys.name}
    return None, ""


def _check_row(raw: dict[str, Any], ctx: _Context, seen: _Seen) -> tuple[_Plan | None, list[dict[str, Any]]]:
    number = raw["row"]
    keys = _row_keys(raw, ctx)
    errors: dict[str, list[str]] = {name: list(messages) for name, messages in keys.errors.items()}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(str(message))

    if keys.id_number and keys.id_number in seen.ids:
        add(
            "id_number",
            _("This ID card number is already on row %(row)d.") % {"row": seen.ids[keys.id_number]},
        )
    elif keys.dwelling is not None and keys.name:
        earlier = seen.people.get((keys.dwelling, keys.name))
        if earlier is not None and not (keys.id_number and earlier[1]):
            add(
                "name",
                _("%(name)s of this household is already on row %(row)d.")
                % {"name": keys.name, "row": earlier[0]},
            )
    first_of_dwelling = keys.dwelling is not None and keys.dwelling not in seen.dwellings
    seen.remember(number, keys)

    gender = _parse_gender(raw["gender"])
    if gender is None:
        add("gender", _("Write the gender as 男 or 女."))
    relation = _parse_relation(raw["relation"])
    if relation is None:
        add("relation", _("Write the relation as 户主, 配偶, 子女, 父母 or 其他."))
    birth_date = None
    if raw["birth_date"].strip():
        try:
            birth_date = _parse_date(raw["birth_date"])
        except ValueError:
            add("birth_date", _("Write the birth date as 1950-03-15."))
    tags: list[CareTag] | None = None
    if raw["care_tags"].strip():
        names = [name.strip() for name in _TAG_SEPARATORS.split(nfkc(raw["care_tags"])) if name.strip()]
        tags = [ctx.tags.get(name) or ctx.tags.get(name.lower()) for name in names]
        unknown = [name for name, tag in zip(names, tags, strict=True) if tag is None]
        if unknown:
            add("care_tags", _("Unknown care tags: %(tags)s.") % {"tags": "、".join(unknown)})
        tags = list(dict.fromkeys(tag for tag in tags if tag is not None))
    notes = ""
    try:
        notes = clean_text(raw["notes"], max_length=NOTES_MAX_LENGTH)
    except ValidationError as exc:
        add("notes", exc.messages[0])

    household = ctx.households.get(keys.dwelling) if keys.dwelling is not None else None
    resident, identity_error = _find_resident(keys, household, ctx)
    if identity_error:
        add("id_number", identity_error)
    # The services' own normaliser: an empty cell keeps the stored value, as resident_update does.
    try:
        clean = services.normalise_person(
            name=raw["name"],
            phone=raw["phone"] if raw["phone"].strip() else (resident.phone if resident else ""),
            id_number=raw["id_number"]
            if raw["id_number"].strip()
            else (resident.id_number if resident else ""),
            birth_date=birth_date or (resident.birth_date if resident else None),
            gender=gender or (resident.gender if resident else ""),
        )
    except ValidationError as exc:
        for name, messages in _messages(exc).items():
            for message in messages:
                add(name, message)
    if errors:
        order = [name for name in FIELDS if name in errors] + [name for name in errors if name not in FIELDS]
        return None, [
            {"row": number, "field": name, "message": message}
            for name in order
            for message in dict.fromkeys(errors[name])
        ]

    assert keys.building is not None and keys.entrance is not None and keys.room is not None
    plan = _Plan(
        row=number,
        action=NEW,
        building=keys.building,
        entrance=keys.entrance,
        room=keys.room,
        household=household,
        new_household=household is None and first_of_dwelling,
        resident=resident,
        fields={},
    )
    if resident is None:
        plan.fields = {
            **clean,
            "relation": relation or Relation.OTHER,
            "care_tags": tags or [],
            "notes": notes,
        }
        return plan, []
    changes = {name: value for name, value in clean.items() if value != getattr(resident, name)}
    if household is None or resident.household_id != household.pk:
        changes["household"] = household  # None until the new household exists: filled in at apply
    if relation and relation != resident.relation:
        changes["relation"] = relation
    if tags is not None and {tag.pk for tag in tags} != {tag.pk for tag in resident.care_tags.all()}:
        changes["care_tags"] = tags
    if notes and notes != resident.notes:
        changes["notes"] = notes
    plan.action = UPDATED if changes else UNCHANGED
    plan.fields = changes
    return plan, []


def _count(summary: dict[str, Any], plan: _Plan) -> None:
    summary["households_new"] = summary.get("households_new", 0) + int(plan.new_household)
    key = f"residents_{plan.action}"
    summary[key] = summary.get(key, 0) + 1


def _empty_summary(rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "households_new": 0,
        "residents_new": 0,
        "residents_updated": 0,
        "residents_unchanged": 0,
        "errors_total": 0,
        "actions": [],
    }


def import_batch_check(*, batch: ImportBatch, limit: int = CHECK_STEP) -> ImportBatch:
    """Check the next ``limit`` rows; after the last one the batch is READY or INVALID."""
    with transaction.atomic():
        # Locked: two tabs driving the same check must not check (and count) a step twice.
        locked = ImportBatch.objects.select_for_update().select_related("community").get(pk=batch.pk)
        if locked.status != ImportStatus.VALIDATING:
            return locked
        rows = locked.rows
        start, end = locked.rows_checked, min(locked.rows_checked + limit, len(rows))
        ctx = _Context(locked.community)
        ctx.load_people(rows[start:end])
        seen = _Seen()
        for raw in rows[:start]:  # dictionary work only, no queries: rows above claim IDs and dwellings
            seen.remember(raw["row"], _row_keys(raw, ctx))
        summary = _empty_summary(len(rows)) | (locked.summary if start else {})
        errors = list(locked.errors)
        for index in range(start, end):
            plan, row_errors = _check_row(rows[index], ctx, seen)
            if plan is not None:
                _count(summary, plan)
            summary["errors_total"] += len(row_errors)
            errors.extend(row_errors[: max(MAX_ERRORS - len(errors), 0)])
            if index < PREVIEW_ROWS:
                summary["actions"].append(plan.action if plan else ERROR)
        locked.rows_checked = end
        locked.errors = errors
        locked.summary = summary
        if end >= len(rows):
            locked.status = ImportStatus.INVALID if summary["errors_total"] else ImportStatus.READY
        locked.save(update_fields=["rows_checked", "errors", "summary", "status"])
    return locked


# ---------------------------------------------------------------------------------------------------------
# Applying
