"""Reads of the registry. The scoping functions here are the permission gate: every view that
lists or opens registry data goes through them, so a user of one community never sees another's."""

import functools
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404

from community.lib.choices import BuildingRows, choice_rows
from community.lib.compiled import CompiledRows
from community.lib.db import count_subquery
from community.lib.lookups import like_pattern
from community.lib.validators import nfkc
from residents.models import (
    Building,
    CareTag,
    Community,
    Household,
    ImportBatch,
    PersonalDataAccess,
    PersonalDataExport,
    Resident,
)


def _visible(user) -> tuple[str, int | None]:
    """Who sees what, once for both forms below: ("none" | "all" | "subdistrict" | "community", id)."""
    if not user.is_authenticated or not user.is_active:
        return "none", None
    if user.is_superuser:
        return "all", None
    membership = getattr(user, "membership", None)
    if membership is None:
        return "none", None
    if membership.subdistrict_id:
        return "subdistrict", membership.subdistrict_id
    return "community", membership.community_id


def communities_visible_to(user) -> QuerySet[Community]:
    """The one scoping function: communities whose data this user may see.

    Superusers see all; subdistrict staff their subdistrict's communities; everyone else the one
    community of their membership; users without a membership see nothing."""
    kind, pk = _visible(user)
    if kind == "all":
        return Community.objects.all()
    if kind == "subdistrict":
        return Community.objects.filter(subdistrict_id=pk)
    if kind == "community":
        return Community.objects.filter(pk=pk)
    return Community.objects.none()


def community_choices(user) -> QuerySet[Community] | None:
    """The communities a user may filter a list by, by name: None for a member of one community, who
    has nothing to choose."""
    return communities_visible_to(user).order_by("name") if spans_communities(user) else None


def sees_community(user, community_id: int, subdistrict_id: int | None = None) -> bool:
    """Whether communities_visible_to(user) holds this community, answered without a query where the
    membership already tells: always for superusers and members of one community, and for subdistrict
    staff when the community's subdistrict is given. Services check every write with it."""
    kind, pk = _visible(user)
    if kind == "all":
        return True
    if kind == "community":
        return community_id == pk
    if kind == "subdistrict" and subdistrict_id is not None:
        return subdistrict_id == pk
    if kind == "none":
        return False
    return communities_visible_to(user).filter(pk=community_id).exists()


def community_scope(user) -> QuerySet[Community] | list[int]:
    """communities_visible_to(user) in the form a `community__in=` filter plans fastest: for a member of one
    community that community's id as a literal list, else the same queryset (a subquery). PostgreSQL plans
    `IN (7)` in a fraction of the time of `IN (SELECT id FROM residents_community WHERE id = 7)` inside a
    query of several tables (the request list: 16 → 7 ms of planning), and it costs no query."""
    kind, pk = _visible(user)
    return [pk] if kind == "community" else communities_visible_to(user)


def only_community_id(user) -> int | None:
    """The id of the one community a member of one community sees; None for subdistrict staff and
    superusers (and users who see none). No query."""
    kind, pk = _visible(user)
    return pk if kind == "community" else None


# A building select's rows in one community (community.lib.choices.RowChoices), compiled once per process.
BUILDING_CHOICE_ROWS = CompiledRows(
    Building,
    lambda community: choice_rows(Building.objects.filter(community=community), BuildingRows.row_columns),
)


def building_choice_rows(user) -> Callable[[], list] | None:
    """For a building select (community.lib.choices.RowChoices) of a member of one community: its rows, read
    with SQL compiled once per process. None for the others, whose select reads its own queryset."""
    community = only_community_id(user)
    return None if community is None else functools.partial(BUILDING_CHOICE_ROWS, community)


def spans_communities(user) -> bool:
    """Whether the user's scope may hold several communities (subdistrict staff, superusers): their lists
    then name each row's community, which a member of one community needs not be told. No query."""
    return _visible(user)[0] in ("subdistrict", "all")


def get_community_for(user, pk: int) -> Community:
    community = communities_visible_to(user).select_related("subdistrict").filter(pk=pk).first()
    if community is None:
        raise Http404
    return community


def home_community_for(user) -> Community | None:
    """The community a user works in (None for subdistrict staff, who pick one)."""
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    return membership.community if membership and membership.community_id else None


def buildings_visible_to(user) -> QuerySet[Building]:
    return Building.objects.filter(community__in=communities_visible_to(user)).select_related("community")


def get_building_for(user, pk: int) -> Building:
    building = buildings_visible_to(user).filter(pk=pk).first()
    if building is None:
        raise Http404
    return building


def households_visible_to(user) -> QuerySet[Household]:
    return Household.objects.filter(building__community__in=communities_visible_to(user)).select_related(
        "building", "building__community"
    )


def get_household_for(user, pk: int) -> Household:
    household = (
        households_visible_to(user)
        .prefetch_related(
            Prefetch(
                "members", queryset=Resident.objects.prefetch_related("care_tags").order_by("relation", "pk")
            )
        )
        .filter(pk=pk)
        .first()
    )
    if household is None:
        raise Http404
    return household


def residents_visible_to(user) -> QuerySet[Resident]:
    # community_scope: `IN (7)` for a member of one community, planned faster than a subquery.
    return (
        Resident.objects.filter(community__in=community_scope(user))
        .select_related("household__building", "community", "employer")
        .prefetch_related("care_tags")
    )


def get_resident_for(user, pk: int) -> Resident:
    resident = residents_visible_to(user).filter(pk=pk).first()
    if resident is None:
        raise Http404
    return resident


_ASCII_DIGITS = re.compile(r"[0-9]+")
_BUILDING_SUFFIXES = ("号楼", "号", "栋", "幢", "座", "楼")


def resident_search(queryset: QuerySet[Resident], text: str) -> QuerySet[Resident]:
    """Search as people type: name, pinyin or its initials, the phone's last digits, an address.

    "3-2-301" or "3号楼2单元301" style addresses match building, entrance and room. Erased residents are
    never found: their rows stay only for the statistics."""
    queryset = queryset.filter(erased_at__isnull=True)
    search = _search_terms(text)
    return queryset if search is None else queryset.filter(_search_q(*search))


def _search_terms(text: str) -> tuple[tuple, list] | None:
    """What a search for `text` asks (its shape: (name without letter case, phone tail, address form)) and
    the values it compares with (its keys, the strings and numbers _search_q puts in the query); None for
    no text. Keys are all a query takes from the text, so one shape is one statement (the directory's,
    compiled once per process: `directory_found`)."""
    text = nfkc(text)
    if not text:
        return None
    lowered = text.lower().replace(" ", "")
    # Text without letter case (Chinese, digits) finds the same names with a plain LIKE: icontains puts
    # UPPER() on the name of every resident of the community, some 40% of the time of that scan.
    caseless = text.upper() == text.lower()
    keys: list = [like_pattern(text, "%", "%"), like_pattern(lowered, after="%")]
    phone = lowered.isascii() and lowered.isdigit() and len(lowered) >= 4
    if phone:
        keys.append(like_pattern(lowered, before="%"))
    keys += [text.upper(), text]  # rooms are stored upper case
    address = 0
    parts = [p for p in _split_address(text) if p]
    if len(parts) == 3:
        building, entrance, room = parts
        # [0-9] only, at most 4 digits: int() would take other scripts' digits, and a huge number overflows
        # the database integer.
        if _ASCII_DIGITS.fullmatch(entrance) and len(entrance) <= 4:
            address = 3
            keys += [*_building_numbers(building), int(entrance), room.upper()]
    elif len(parts) == 2:
        address = 2
        keys += [*_building_numbers(parts[0]), parts[1].upper()]
    return (caseless, phone, address), keys


def _search_q(shape: tuple, keys: list) -> Q:
    """The condition of a search of this shape with these keys (_search_terms)."""
    caseless, phone, address = shape
    keys = iter(keys)
    name, prefix = next(keys), next(keys)
    query = Q(name__like=name) if caseless else Q(name__ulike=name)
    query |= Q(name_pinyin__like=prefix) | Q(name_initials__like=prefix)
    if phone:
        query |= Q(phone__like=next(keys))
    # The address part asks about households, each form on its own index, united in one subquery: an OR
    # over the household join made PostgreSQL hash-join every household of the district on each search.
    households = Household.objects.values("pk")
    homes = households.filter(room=next(keys)).union(households.filter(building__number=next(keys)))
    if address:
        numbers = [next(keys) for _number in range(len(_BUILDING_SUFFIXES) + 1)]
        entrance = {"entrance": next(keys)} if address == 3 else {}
        homes = homes.union(households.filter(building__number__in=numbers, room=next(keys), **entrance))
    return query | Q(household__in=homes)


def _building_numbers(typed: str) -> list[str]:
    """Typed "1", "1号" or "1栋" mean building "1号楼" (or "1栋"…), never "10号楼" as a prefix match would:
    the numbers it may stand for."""
    for suffix in _BUILDING_SUFFIXES:
        if typed.endswith(suffix) and len(typed) > len(suffix):
            typed = typed[: -len(suffix)]
            break
    return [typed, *(typed + suffix for suffix in _BUILDING_SUFFIXES)]


def _building_q(typed: str) -> Q:
    return Q(building__number__in=_building_numbers(typed))


def _split_address(text: str) -> list[str]:
    """Building, entrance, room from "1-2-301", "1号楼2单元301室", "1栋2单元301" or "A座2单元301"."""
    return (
        re.split(r"[-\s/]+|号楼|号|栋|幢|座|单元|室", text)
        if re.search(r"[-\s/]|号|栋|幢|座|单元", text)
        else []
    )


def home_address(household: Household) -> str:
    """How a home is written in a form: "3号楼-2-301", which `homes_at` reads back."""
    return f"{household.building.number}-{household.entrance}-{household.room}"


def homes_at(households: QuerySet[Household], text: str, *, limit: int = 5) -> list[Household]:
    """The homes of `households` at a typed address, for a form that asks where someone lives.

    Reads what `home_address` writes ("3号楼-2-301": the building's number exactly, even one with a dash)
    and what people type ("3-2-301", "3号楼2单元301室", "3栋2单元301"). A home written exactly wins over
    ones that only read alike ("1栋-2-301" is not also "1号楼-2-301"). One query; more than one home means
    the address was ambiguous."""
    text = nfkc(text).replace("—", "-")
    if not text or "\x00" in text:  # PostgreSQL refuses NUL in a string: no address has one
        return []
    exact: set[tuple[str, int, str]] = set()
    pieces = text.split("-")
    for i in range(1, len(pieces) - 1):  # the building's number may hold a dash, the room too
        building, entrance, room = "-".join(pieces[:i]).strip(), pieces[i].strip(), "-".join(pieces[i + 1 :])
        room = room.replace(" ", "").upper()
        if building and room and _ASCII_DIGITS.fullmatch(entrance) and len(entrance) <= 4:
            exact.add((building, int(entrance), room))
    wanted = Q(pk__in=[])
    for building, entrance, room in exact:
        wanted |= Q(building__number=building, entrance=entrance, room=room)
    parts = [p for p in _split_address(text) if p]
    if len(parts) == 3 and _ASCII_DIGITS.fullmatch(parts[1]) and len(parts[1]) <= 4:
        wanted |= _building_q(parts[0]) & Q(entrance=int(parts[1]), room=parts[2].upper())
    homes = list(
        households.filter(wanted)
        .select_related("building")
        .order_by("building__position", "building__number", "pk")[:limit]
    )
    written = [h for h in homes if (h.building.number, h.entrance, h.room) in exact]
    return written or homes


def member_names(household: Household, *, limit: int = 6) -> list[str]:
    """Who lives in a home (as the household file orders them), for a line under a form field; erased
    residents are left out."""
    members = household.members.filter(erased_at__isnull=True).order_by("relation", "pk")
    return list(members.values_list("name", flat=True)[:limit])


def directory(
    user,
    *,
    text: str = "",
    building_id: int | None = None,
    tag_id: int | None = None,
    community_id: int | None = None,
) -> QuerySet[Resident]:
    queryset = residents_visible_to(user)
    if community_id:
        queryset = queryset.filter(community_id=community_id)
    return _directory_of(queryset, building_id, tag_id, _search_terms(text))


def _directory_of(
    queryset: QuerySet[Resident], building_id, tag_id, search: tuple | None
) -> QuerySet[Resident]:
    """The directory's residents among `queryset`: in a building, with a care tag, found by a search
    (_search_terms), none of them erased, in pinyin order."""
    if building_id:
        queryset = queryset.filter(household__building_id=building_id)
    if tag_id:
        queryset = queryset.filter(care_tags__id=tag_id)
    queryset = queryset.filter(erased_at__isnull=True)
    if search is not None:
        queryset = queryset.filter(_search_q(*search))
    return queryset.order_by("name_pinyin", "pk")


# What a row of the directory page shows (name, address, masked phone; care tags are read apart): named
# tuples of these values, not a resident, household and building instance per row.
DIRECTORY_ROW_FIELDS = ("pk", "name", "phone", "household_id", "entrance", "room", "building_number")
_DIRECTORY_NAMES = {
    "entrance": F("household__entrance"),
    "room": F("household__room"),
    "building_number": F("household__building__number"),
}


def directory_rows(user, residents: QuerySet[Resident]) -> QuerySet:
    """The directory's residents (`directory`) as its page lists them: named tuples of DIRECTORY_ROW_FIELDS,
    and `community_name` for a user who sees several communities. Care tags: `care_tags_by_resident`."""
    residents = residents.prefetch_related(None)
    if spans_communities(user):
        named = residents.annotate(**_DIRECTORY_NAMES, community_name=F("community__name"))
        return named.values_list(*DIRECTORY_ROW_FIELDS, "community_name", named=True)
    return residents.annotate(**_DIRECTORY_NAMES).values_list(*DIRECTORY_ROW_FIELDS, named=True)


class DirectoryFound(NamedTuple):
    """What the directory page lists: how many residents it found, and their rows to paginate (`rows`:
    a values_list() queryset or a compiled window, named tuples as `directory_rows` gives them)."""

    count: int
    rows: Sequence


def directory_found(
    user,
    *,
    text: str = "",
    building_id: int | None = None,
    tag_id: int | None = None,
    community_id: int | None = None,
) -> DirectoryFound:
    """The directory page's residents (`directory`): their number and their rows.

    For a member of one community both are read with SQL compiled once per process for each shape of the
    search and its filters (building, care tag): building, compiling and counting the search through the
    ORM took ~4 of the page's 14 ms of Python (district data set). An address with an entrance
    ("3-2-301") goes through the ORM, as everything does for a user who sees several communities: the
    entrance's column is a small integer, which a compiled key cannot stand in for."""
    community = only_community_id(user)
    search = _search_terms(text)
    if community is None or community_id or (search is not None and search[0][2] == 3):
        residents = directory(
            user, text=text, building_id=building_id, tag_id=tag_id, community_id=community_id
        )
        return DirectoryFound(residents.count(), directory_rows(user, residents))
    shape = (None if search is None else search[0], bool(building_id), bool(tag_id))
    keys = [community, *filter(None, (building_id, tag_id)), *(search[1] if search else ())]
    counted, rows = _compiled_directory(shape)
    (found,) = counted(*keys) or [(0,)]
    return DirectoryFound(found[0], rows.window(*keys, count=found[0]))


@functools.cache
def _compiled_directory(shape: tuple) -> tuple[CompiledRows, CompiledRows]:
    """The count and the rows of directory_found() for a member of one community, for one shape: (the
    search's shape or None, by building, by care tag). Their keys: the community, the building's and the
    tag's ids when asked, the search's keys."""
    search, by_building, by_tag = shape

    def residents(community, *keys):
        keys = list(keys)
        building_id = keys.pop(0) if by_building else None
        tag_id = keys.pop(0) if by_tag else None
        searched = None if search is None else (search, keys)
        return _directory_of(Resident.objects.filter(community=community), building_id, tag_id, searched)

    return (
        CompiledRows(
            Resident,
            lambda *keys: (
                residents(*keys).order_by().values("community").annotate(n=Count("pk")).values_list("n")
            ),
        ),
        CompiledRows(
            Resident,
            lambda *keys: (
                residents(*keys).annotate(**_DIRECTORY_NAMES).values_list(*DIRECTORY_ROW_FIELDS, named=True)
            ),
        ),
    )


def care_tags_by_resident(resident_ids: list[int]) -> dict[int, list[tuple]]:
    """Each resident's care tags (named rows with the tag's `name` and `colour`), in the tags' order: one
    query of the resident–tag links with their tag joined."""
    tags: dict[int, list[tuple]] = {pk: [] for pk in resident_ids}
    links = (
        Resident.care_tags.through.objects.filter(resident_id__in=resident_ids)
        .order_by("caretag")  # the care tags' own ordering
        .annotate(name=F("caretag__name"), colour=F("caretag__colour"))
        .values_list("resident_id", "name", "colour", named=True)
    )
    for link in links:
        tags[link.resident_id].append(link)
    return tags


# The change reason of the history entry an erasure leaves: "erased: <the reason given>"
# (residents.privacy.resident_erase writes it).
ERASED = "erased"


def export_roster(
    user, community: Community, *, text: str = "", building_id: int | None = None, tag_id: int | None = None
) -> QuerySet[Resident]:
    """The rows of a roster export: the directory's, of one community. Two queries for any number of
    rows (the residents with household, building and employer joined; their care tags)."""
    return directory(user, text=text, building_id=building_id, tag_id=tag_id).filter(community=community)


def erasure_record(resident: Resident):
    """The history entry an erasure left (who, when, why), or None if the resident was not erased."""
    return (
        resident.history.filter(history_change_reason__startswith=f"{ERASED}:")
        .select_related("history_user")
        .order_by("-history_date")
        .first()
    )


def care_tags() -> QuerySet[CareTag]:
    return CareTag.objects.all()


def building_households(building: Building) -> QuerySet[Household]:
    """A building's households with their member count, in entrance/room order."""
    return building.households.annotate(member_count=Count("members")).order_by("entrance", "room")


def communities_with_counts(user) -> QuerySet[Community]:
    return (
        communities_visible_to(user)
        .select_related("subdistrict")
        .annotate(
            building_count=count_subquery(Building.objects.all(), "community"),
            resident_count=count_subquery(Resident.objects.all(), "community"),
        )
    )


def imports_visible_to(user) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(community__in=communities_visible_to(user)).select_related(
        "community", "created_by"
    )


def get_import_for(user, pk: int) -> ImportBatch:
    batch = imports_visible_to(user).filter(pk=pk).first()
    if batch is None:
        raise Http404
    return batch


def data_access_log(user) -> QuerySet[PersonalDataAccess]:
    return PersonalDataAccess.objects.filter(
        resident__community__in=communities_visible_to(user)
    ).select_related("actor", "resident")


def data_export_log(user) -> QuerySet[PersonalDataExport]:
    return PersonalDataExport.objects.filter(community__in=communities_visible_to(user)).select_related(
        "actor", "community"
    )


def buildings_with_counts(user) -> QuerySet[Building]:
    return (
        buildings_visible_to(user)
        .annotate(
            household_count=count_subquery(Household.objects.all(), "building"),
        )
        .order_by("community__name", "position", "number")
    )


def group_by_entrance(households) -> list[tuple[int, list[Household]]]:
    """[(entrance, [households…]), …] for a building page; the list is already ordered by entrance."""
    groups: dict[int, list[Household]] = {}
    for household in households:
        groups.setdefault(household.entrance, []).append(household)
    return list(groups.items())


def responsible_workers(building: Building):
    """The social workers who walk this building (包片). Read through the reverse relation so the
    registry does not import the stations app."""
    return building.responsible_workers.filter(is_active=True).order_by("display_name")
