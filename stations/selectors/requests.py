"""Reads of service requests. `requests_visible_to` is the gate every request view goes through."""

import datetime as dt
import functools
import hmac
import re
import unicodedata

from django.contrib.auth.models import User
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.http import Http404
from django.utils import timezone

from community.lib.compiled import CompiledGet, CompiledList, CompiledRows
from community.lib.validators import nfkc
from residents.models import Building, Community, Enterprise, Membership, Resident
from residents.selectors import community_scope, only_community_id, resident_search, spans_communities
from stations.choices import OPEN_STATES, ExtensionStatus
from stations.models import (
    Category,
    Extension,
    RequestEvent,
    RequestNote,
    RequestPhoto,
    ServiceRequest,
    SocialWorker,
)

# What the request rows show (stations/templatetags/request_rows.py). Not the community: every join is
# planned for each page (planning, not running, is most of a list query's time at district scale).
LIST_RELATED = ("category", "assignee", "building")
# The rows are named tuples of these values (request_rows_for), not model instances: building the request
# and its category, building and assignee as four instances a row was ~0.8 of the 1.1 ms of CPU that the
# list's 25 rows cost (values: 0.3 ms). Any other value a row needs must be added here.
ROW_FIELDS = (
    "pk",
    "reference",
    "title",
    "status",
    "urgency",
    "resolution_due_at",
    "is_overdue",
    "building_id",
    "assignee_id",
    "category_name",
    "building_number",
    "assignee_name",
)
_ROW_NAMES = {
    "category_name": F("category__name"),
    "building_number": F("building__number"),
    "assignee_name": F("assignee__display_name"),
}
LOOKUP_LIMIT = 8  # residents shown by the lookup as people type


def requests_visible_to(user) -> QuerySet[ServiceRequest]:
    """Requests staff of the user's communities may see; residents use `own_requests`."""
    if not user.has_perm("stations.view_servicerequest"):
        return ServiceRequest.objects.none()
    return ServiceRequest.objects.filter(community__in=community_scope(user)).select_related(*LIST_RELATED)


def request_rows_for(user, requests: QuerySet[ServiceRequest]) -> QuerySet:
    """A list's requests as its rows show them to this user: named tuples of ROW_FIELDS (``requests`` must
    carry `is_overdue`, see with_overdue), and `community_name` too when the user sees several communities
    (one more join, only for them)."""
    return _as_rows(requests, spans=spans_communities(user))


def _as_rows(requests: QuerySet[ServiceRequest], *, spans: bool) -> QuerySet:
    if spans:
        named = requests.annotate(**_ROW_NAMES, community_name=F("community__name"))
        return named.values_list(*ROW_FIELDS, "community_name", named=True)
    return requests.annotate(**_ROW_NAMES).values_list(*ROW_FIELDS, named=True)


def get_request_for(user, pk: int, *, detail: bool = False) -> ServiceRequest:
    """The request if the user may see it (requests_visible_to), else 404, with the rows its pages show:
    the address is the request's own household (copied from the requester's at intake), the visit only a
    link by id.

    For one row the cost is PostgreSQL planning the joins, not running them, and planning grows much
    faster than the number of tables (at 1 M requests these 10 joins take 6-15 ms to plan, 0.5 ms to
    run; 5 take 1-2 ms). So the detail page (`detail=True`) joins only the category, the requester and
    the household, and reads the one name it shows of each other row as a subquery, which is planned on
    its own: `enterprise_name`, `building_number`, `assignee_name`, `created_by_name`. It also learns
    `has_pending_extension` and `has_notes`, so that pending_extension() and timeline() ask only when
    there is something to read (most requests have neither). For a user who sees several communities,
    `community_name` too (None for the others, who know theirs).

    For a member of one community (the desk's staff) the query is compiled once per process
    (community.lib.compiled): building and compiling it was half of the detail page's own CPU."""
    if not user.has_perm("stations.view_servicerequest"):
        raise Http404
    community = only_community_id(user)
    if community is not None:
        found = _COMPILED_GETS[detail](community, pk)
        if found is None:
            raise Http404
    else:
        queryset = _request_queryset(community_scope(user), detail=detail, spans=spans_communities(user))
        try:
            found = queryset.get(pk=pk)  # get(): no ORDER BY, which first() would add to the planning
        except ServiceRequest.DoesNotExist:
            raise Http404 from None
    _prefetch(found, detail=detail)
    return found


REQUEST_PREFETCH = ("assisting", "photos")


def _prefetch(service_request: ServiceRequest, *, detail: bool) -> None:
    """prefetch_related_objects(REQUEST_PREFETCH); for the detail page only of the relations that
    `has_assisting` and `has_photos` say hold rows (most requests have neither): the others are set as
    known to be empty, as prefetching would leave them, without a query."""
    if not hasattr(service_request, "_prefetched_objects_cache"):
        service_request._prefetched_objects_cache = {}
    wanted = []
    for name in REQUEST_PREFETCH:
        if detail and not getattr(service_request, f"has_{name}"):
            empty = getattr(service_request, name).get_queryset()
            empty._result_cache, empty._prefetch_done = [], True
            service_request._prefetched_objects_cache[name] = empty
        else:
            wanted.append(name)
    prefetch_related_objects([service_request], *wanted)


def _request_queryset(scope, *, detail: bool, spans: bool = False) -> QuerySet[ServiceRequest]:
    """get_request_for's query over the communities of `scope` (community_scope)."""
    queryset = ServiceRequest.objects.filter(community__in=scope)
    if not detail:
        return queryset.select_related(
            *LIST_RELATED,
            "category__parent",
            "requester",
            "requester_enterprise",
            "household__building",
            "created_by",
        )
    queryset = queryset.select_related("category__parent", "requester", "household__building").annotate(
        **_detail_annotations()
    )
    return (
        queryset.annotate(community_name=_value_of(Community, "community_id", "name")) if spans else queryset
    )


_COMPILED_GETS = {
    detail: CompiledGet(
        ServiceRequest,
        lambda community, pk, detail=detail: _request_queryset([community], detail=detail).filter(pk=pk),
    )
    for detail in (False, True)
}


@functools.cache
def _detail_annotations() -> dict[str, Subquery]:
    """The subqueries of get_request_for(detail=True), built once per process: building their querysets
    cost more CPU than compiling them (annotate() resolves copies, so sharing them is safe)."""
    return {
        "enterprise_name": _value_of(Enterprise, "requester_enterprise_id", "name"),
        "building_number": _value_of(Building, "building_id", "number"),
        "assignee_name": _value_of(SocialWorker, "assignee_id", "display_name"),
        # User.get_full_name(), or the username when that is empty.
        "created_by_name": _value_of(
            User,
            "created_by_id",
            Coalesce(NullIf(Trim(Concat("first_name", Value(" "), "last_name")), Value("")), "username"),
        ),
        "has_pending_extension": Exists(
            Extension.objects.filter(request=OuterRef("pk"), status=ExtensionStatus.PENDING)
        ),
        "has_notes": Exists(RequestNote.objects.filter(request=OuterRef("pk"))),
        "has_photos": Exists(RequestPhoto.objects.filter(request=OuterRef("pk"))),
        "has_assisting": Exists(
            ServiceRequest.assisting.through.objects.filter(servicerequest=OuterRef("pk"))
        ),
    }


def _value_of(model, foreign_key: str, value: str | Func) -> Subquery:
    """A field (or an expression) of the row a foreign key of the request points to, as a subquery."""
    shown = F(value) if isinstance(value, str) else value
    return Subquery(model.objects.filter(pk=OuterRef(foreign_key)).order_by().values(shown=shown))


def own_requests(user) -> QuerySet[ServiceRequest]:
    """A resident's own requests (they are the requester)."""
    resident = getattr(user, "resident", None) if user.is_authenticated else None
    if resident is None:
        return ServiceRequest.objects.none()
    return ServiceRequest.objects.filter(requester=resident).select_related("category")


def get_own_request(user, token: str) -> ServiceRequest:
    service_request = own_requests(user).filter(token=token).first()
    if service_request is None:
        raise Http404
    return service_request


def timeline(service_request: ServiceRequest, *, public_only: bool = False) -> list:
    """Events and notes of a request in time order, events first at the same moment (two queries, bounded
    by one request; one when get_request_for(detail=True) found no notes). Sorted here, so the queries
    need no ORDER BY."""
    items = [(e.at, 0, e.pk, "event", e) for e in _COMPILED_EVENTS[public_only](service_request.pk)]
    if getattr(service_request, "has_notes", True):
        items += [
            (n.created_at, 1, n.pk, "note", n) for n in _COMPILED_NOTES[public_only](service_request.pk)
        ]
    items.sort(key=lambda item: item[:3])
    return [(kind, at, item) for at, _rank, _pk, kind, item in items]


def _timeline_of(model, related: tuple[str, ...], public_only: bool, pk: int) -> QuerySet:
    rows = model.objects.filter(request=pk).select_related(*related).order_by()
    return rows.filter(is_public=True) if public_only else rows


# timeline()'s two queries, compiled once per process (community.lib.compiled), for staff and public.
_COMPILED_EVENTS, _COMPILED_NOTES = (
    {
        public_only: CompiledList(model, functools.partial(_timeline_of, model, related, public_only))
        for public_only in (False, True)
    }
    for model, related in (
        (RequestEvent, ("actor", "old_assignee", "new_assignee")),
        (RequestNote, ("author",)),
    )
)


def pending_extension(service_request: ServiceRequest) -> Extension | None:
    """The extension waiting for the head's decision, if any; no query when the request was read with
    get_request_for(detail=True) and has none."""
    if not getattr(service_request, "has_pending_extension", True):
        return None
    return (
        service_request.extensions.filter(status=ExtensionStatus.PENDING)
        .select_related("requested_by")
        .first()
    )


def due_soon_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) + dt.timedelta(hours=24)


def _mine(worker: int) -> Q:
    """Requests the worker (by id) is assigned to or assists on: the assisting as a subquery, not a join,
    so no row repeats (no DISTINCT over every column) and no count is multiplied."""
    assisting = ServiceRequest.assisting.through.objects.filter(socialworker=worker).values("servicerequest")
    return Q(assignee=worker) | Q(pk__in=assisting)


QUEUE_TABS = ("mine", "due_soon", "overdue", "shared")


def my_queue(
    user, worker: SocialWorker | None, *, view: str = "mine", now: dt.datetime | None = None
) -> QuerySet[ServiceRequest]:
    """The worker's queue: mine (assigned or assisting), due soon, overdue, or the shared unassigned.
    Its size is `queue_counts(...)[view]` for the same `now`."""
    now = now or timezone.now()
    base = requests_visible_to(user).filter(status__in=OPEN_STATES)
    return _tab(base, view, worker.pk if worker else None, now, due_soon_cutoff(now))


def _tab(base: QuerySet, view: str, worker: int | None, now: dt.datetime, cutoff: dt.datetime) -> QuerySet:
    if view == "shared":
        return base.filter(assignee__isnull=True).order_by("resolution_due_at", "pk")
    # PostgreSQL reads the open requests through the partial index (sr_open_comm_due_idx, which also
    # carries the assignee, so queue_counts reads it alone) instead of all the community's rows.
    mine = base.filter(_mine(worker)) if worker is not None else base.none()
    if view == "due_soon":
        mine = mine.filter(resolution_due_at__gte=now, resolution_due_at__lt=cutoff)
    elif view == "overdue":
        mine = mine.filter(resolution_due_at__lt=now)
    return mine.order_by("resolution_due_at", "pk")


def queue_counts(user, worker: SocialWorker | None, *, now: dt.datetime | None = None) -> dict[str, int]:
    """The tab counts of the queue in one query."""
    now = now or timezone.now()
    cutoff = due_soon_cutoff(now)
    if _compiles_queue(user, worker):
        rows = _COMPILED_COUNTS(only_community_id(user), worker.pk, now, cutoff)
        return dict(zip(QUEUE_TABS, rows[0] if rows else (0, 0, 0, 0), strict=True))
    mine = _mine(worker.pk) if worker else Q(pk__in=[])
    return requests_visible_to(user).filter(status__in=OPEN_STATES).aggregate(**_counts(mine, now, cutoff))


def _counts(mine: Q, now: dt.datetime, cutoff: dt.datetime) -> dict[str, Count]:
    return {
        "mine": Count("pk", filter=mine),
        "due_soon": Count("pk", filter=mine & Q(resolution_due_at__gte=now, resolution_due_at__lt=cutoff)),
        "overdue": Count("pk", filter=mine & Q(resolution_due_at__lt=now)),
        "shared": Count("pk", filter=Q(assignee__isnull=True)),
    }


def queue_rows(user, worker: SocialWorker | None, *, view: str, now: dt.datetime, count: int):
    """A queue tab's rows for paginate(): my_queue with what the rows show (with_overdue,
    request_rows_for); `count` is the tab's count from queue_counts for the same `now`.

    For a social worker of one community, both this and queue_counts are compiled once per process
    (community.lib.compiled): building them through the ORM was two thirds of the queue page's own CPU."""
    if _compiles_queue(user, worker):
        keys = {"shared": (now,), "due_soon": (worker.pk, now, due_soon_cutoff(now))}.get(
            view, (worker.pk, now)
        )
        return _COMPILED_TABS[view].window(only_community_id(user), *keys, count=count)
    return request_rows_for(user, with_overdue(my_queue(user, worker, view=view, now=now), now))


def _compiles_queue(user, worker: SocialWorker | None) -> bool:
    return (
        worker is not None
        and only_community_id(user) is not None
        and user.has_perm("stations.view_servicerequest")
    )


def _open_in(community: int) -> QuerySet[ServiceRequest]:
    """requests_visible_to(user).filter(status__in=OPEN_STATES) for a member of this one community."""
    return ServiceRequest.objects.filter(community__in=[community], status__in=OPEN_STATES)


def _compiled_tab(view: str, community: int, *keys) -> QuerySet[ServiceRequest]:
    worker, now, cutoff = {"shared": (None, *keys, None), "due_soon": keys}.get(view, (*keys, None))
    return _as_rows(with_overdue(_tab(_open_in(community), view, worker, now, cutoff), now), spans=False)


_COMPILED_TABS = {
    view: CompiledRows(ServiceRequest, functools.partial(_compiled_tab, view)) for view in QUEUE_TABS
}
_COMPILED_COUNTS = CompiledRows(
    ServiceRequest,
    lambda community, worker, now, cutoff: (
        _open_in(community)
        .values("community")
        .annotate(**_counts(_mine(worker), now, cutoff))
        .values_list(*QUEUE_TABS)
    ),
)


def categories_for(community) -> list[Category]:
    """The community's active categories with their parents, for the category selects of the forms (read
    with SQL compiled once per process)."""
    return _CATEGORIES(getattr(community, "pk", community))


_CATEGORIES = CompiledList(
    Category,
    lambda community: (
        Category.objects.filter(community=community, is_active=True)
        .select_related("parent")
        .order_by("parent__position", "parent__name", "position", "name")
    ),
)


_PHONE_TAIL_RE = re.compile(r"[0-9]{4}")


def normalize_reference(reference: str) -> str:
    """AHL-2026-000123 however it was typed: full-width characters, lower case, surrounding spaces."""
    return unicodedata.normalize("NFKC", reference or "").strip().upper()


def normalize_phone_tail(phone_tail: str) -> str | None:
    """Exactly four ASCII digits (full-width digits accepted), else None."""
    tail = unicodedata.normalize("NFKC", phone_tail or "").strip()
    return tail if _PHONE_TAIL_RE.fullmatch(tail) else None


def track_request(reference: str, phone_tail: str) -> ServiceRequest | None:
    """The request with this reference whose phone ends in these four digits, for the public tracking
    page. The phone is the requester's, the contact phone given at intake or the enterprise's. None for
    a mismatch and for an unknown reference alike, so a reference cannot be probed."""
    reference, tail = normalize_reference(reference), normalize_phone_tail(phone_tail)
    if not reference or tail is None:
        return None
    service_request = (
        ServiceRequest.objects.select_related("category__parent", "requester", "requester_enterprise")
        .filter(reference=reference)
        .first()
    )
    if service_request is None:
        return None
    phones = [service_request.contact_phone]
    if service_request.requester is not None:
        phones.append(service_request.requester.phone)
    if service_request.requester_enterprise is not None:
        phones.append(service_request.requester_enterprise.contact_phone)
    tails = ["".join(ch for ch in phone if ch in "0123456789")[-4:] for phone in phones if phone]
    if any(len(t) == 4 and hmac.compare_digest(t, tail) for t in tails):
        return service_request
    return None


# --- Reads for the staff request pages -------------------------------------------------------------


def with_overdue(
    queryset: QuerySet[ServiceRequest], now: dt.datetime | None = None
) -> QuerySet[ServiceRequest]:
    """Annotate `is_overdue`: open (new, accepted, in progress) and past its resolution deadline."""
    now = now or timezone.now()
    return queryset.annotate(
        is_overdue=Case(
            When(status__in=OPEN_STATES, resolution_due_at__lt=now, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def get_note(service_request: ServiceRequest, note_pk: int) -> RequestNote:
    """A note, looked up through its request (a note of another request is a 404)."""
    note = RequestNote.objects.filter(pk=note_pk, request=service_request).select_related("author").first()
    if note is None:
        raise Http404
    return note


def get_extension(service_request: ServiceRequest, extension_pk: int) -> Extension:
    """An extension, looked up through its request (an extension of another request is a 404)."""
    extension = Extension.objects.filter(pk=extension_pk, request=service_request).first()
    if extension is None:
        raise Http404
    return extension


def get_photo(service_request: ServiceRequest, photo_pk: int) -> RequestPhoto:
    """A photo, looked up through its request (a photo of another request is a 404)."""
    photo = RequestPhoto.objects.filter(pk=photo_pk, request=service_request).first()
    if photo is None:
        raise Http404
    return photo


def assignable_workers(community) -> QuerySet[SocialWorker]:
    """Active workers of the request's community, for the reassign select."""
    return SocialWorker.objects.filter(community=community, is_active=True).order_by(
        "worker_type", "display_name"
    )


# --- The resident lookup of the intake and staff booking forms -----------------------------------------


def intake_residents(community) -> QuerySet[Resident]:
    """Whom a request can be logged for: the community's residents (not erased). The user's own
    community, so no further scoping; validating a posted id reads one row with its address."""
    return Resident.objects.filter(community=community, erased_at__isnull=True).select_related(
        "household__building", "employer"
    )


def intake_resident_get(community):
    """The intake's resident of an id, or None: intake_residents(community) by key, compiled once."""
    return functools.partial(_INTAKE_RESIDENT, community.pk)


_INTAKE_RESIDENT = CompiledGet(Resident, lambda community, pk: intake_residents(community).filter(pk=pk))


def intake_community(user) -> Community | None:
    """The community a worker or head logs requests for: their membership's; None for subdistrict
    staff and users without one. Membership and community come in one query, and the
    membership is left on the user, so the scoping of the rest of the request (communities_visible_to)
    does not read it again."""
    if not user.is_authenticated:
        return None
    membership = Membership.objects.select_related("community").filter(user=user).first()
    if membership is None:
        return None
    user.membership = membership  # the reverse one-to-one cache: user.membership costs no query now
    return membership.community if membership.community_id else None


def lookup_residents(residents: QuerySet[Resident], *, care_tags: bool = True) -> QuerySet[Resident]:
    """A scope of residents as the lookup shows them: address (or employer) joined, and care tags
    prefetched where the form shows them (intake: yes; booking: no)."""
    residents = residents.select_related("household__building", "employer")
    return residents.prefetch_related("care_tags") if care_tags else residents


def resident_matches(
    residents: QuerySet[Resident], text: str, *, limit: int = LOOKUP_LIMIT, care_tags: bool = True
) -> list[Resident]:
    """Up to `limit` residents of the scope matching what is typed (name, pinyin, initials, phone tail,
    address; see residents.selectors.resident_search), in name order. One query, two with care tags."""
    text = nfkc(text or "")[:100]
    if not text:
        return []
    matches = resident_search(lookup_residents(residents, care_tags=care_tags), text)
    return list(matches.order_by("name_pinyin", "pk")[:limit])
