"""Routing (派单): who gets a new request, and who takes over when a worker goes on leave.

On intake the request goes to the worker responsible for its building (包片) whose type matches the
category; if that worker is away, to the cover they named; else to the least-loaded worker of that
type in the community; nothing waits for an absent person."""

import datetime as dt
import functools

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from community.lib.compiled import CompiledList
from residents.models import Building, Community
from stations.choices import OPEN_STATES, WorkerType
from stations.models import Leave, SocialWorker


def away_on(day: dt.date) -> QuerySet[Leave]:
    return Leave.objects.filter(worker=OuterRef("pk"), starts_on__lte=day, ends_on__gte=day)


def available_workers(community: Community, day: dt.date) -> QuerySet[SocialWorker]:
    """Active workers of the community who are not on leave that day, with their open load."""
    return (
        SocialWorker.objects.filter(community=community, is_active=True)
        .annotate(away=Exists(away_on(day)))
        .filter(away=False)
        .annotate(open_load=Count("assigned_requests", filter=Q(assigned_requests__status__in=OPEN_STATES)))
    )


def least_loaded(
    community: Community, worker_type: str | None, day: dt.date, exclude: SocialWorker | None = None
) -> SocialWorker | None:
    workers = available_workers(community, day)
    if exclude is not None:
        workers = workers.exclude(pk=exclude.pk)
    if worker_type:
        typed = workers.filter(worker_type=worker_type).order_by("open_load", "pk").first()
        if typed is not None:
            return typed
    # Nobody of that type is in: any worker at the desk takes it rather than letting it wait.
    return workers.order_by("open_load", "pk").first()


def cover_for(worker: SocialWorker, day: dt.date) -> SocialWorker | None:
    """The cover named on the worker's leave for that day, if the cover is in themselves."""
    leave = (
        Leave.objects.filter(worker=worker, starts_on__lte=day, ends_on__gte=day)
        .select_related("cover")
        .order_by("-starts_on")
        .first()
    )
    if leave is None or leave.cover is None or not leave.cover.is_active:
        return None
    if Leave.objects.filter(worker=leave.cover, starts_on__lte=day, ends_on__gte=day).exists():
        return None
    return leave.cover


def is_away(worker: SocialWorker, day: dt.date) -> bool:
    return Leave.objects.filter(worker=worker, starts_on__lte=day, ends_on__gte=day).exists()


def route(
    *, community: Community, worker_type: str, building: Building | None, day: dt.date | None = None
) -> SocialWorker | None:
    day = day or timezone.localdate()
    if building is not None:
        # Whether they are away comes with the worker: one query for the usual case, not two, compiled once
        # per process for each worker type (community.lib.compiled).
        compiled = _RESPONSIBLE.get(worker_type)
        if compiled is not None:
            responsible = next(iter(compiled(building.pk, community.pk, day, limit=1)), None)
        else:
            responsible = _responsible(worker_type, building, community, day).first()
        if responsible is not None:
            if not responsible.away:
                return responsible
            cover = cover_for(responsible, day)
            if cover is not None:
                return cover
            return least_loaded(community, worker_type, day, exclude=responsible)
    return least_loaded(community, worker_type, day)


def _responsible(worker_type: str, building, community, day: dt.date) -> QuerySet[SocialWorker]:
    """The active workers of that type responsible for the building (包片), with whether they are away."""
    return (
        SocialWorker.objects.filter(
            buildings=building, is_active=True, worker_type=worker_type, community=community
        )
        .annotate(away=Exists(away_on(day)))
        .order_by("pk")
    )


_RESPONSIBLE = {
    worker_type: CompiledList(SocialWorker, functools.partial(_responsible, worker_type))
    for worker_type in WorkerType.values
}
