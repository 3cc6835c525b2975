"""Reads about the desk's people: social workers, their buildings and leave. Scoped through
residents.selectors.communities_visible_to."""

from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from residents.selectors import communities_visible_to
from stations.models import Leave, Notification, SocialWorker


def on_leave_today(today=None):
    """The leave of the outer query's worker covering today (or the given day)."""
    today = today or timezone.localdate()
    return Leave.objects.filter(worker=OuterRef("pk"), starts_on__lte=today, ends_on__gte=today)


def workers_visible_to(user) -> QuerySet[SocialWorker]:
    return (
        SocialWorker.objects.filter(community__in=communities_visible_to(user))
        .select_related("community", "user")
        .annotate(building_count=Count("buildings", distinct=True), on_leave=Exists(on_leave_today()))
    )


def get_worker_for(user, pk: int) -> SocialWorker:
    worker = (
        workers_visible_to(user)
        .prefetch_related("buildings", Prefetch("leaves", queryset=Leave.objects.select_related("cover")))
        .filter(pk=pk)
        .first()
    )
    if worker is None:
        raise Http404
    return worker


def worker_of(user) -> SocialWorker | None:
    """The user's social worker profile (with its community), or None. The session's user arrives with
    it joined (community.lib.auth.SESSION_USER_JOINS): then no query."""
    if user is None or not user.is_authenticated:
        return None
    if User.social_worker.is_cached(user):
        return getattr(user, "social_worker", None)
    return SocialWorker.objects.filter(user=user).select_related("community").first()


def worker_buildings(worker: SocialWorker):
    return worker.buildings.annotate(
        household_count=Count("households", distinct=True),
        tagged_count=Count(
            "households__members", distinct=True, filter=Q(households__members__care_tags__isnull=False)
        ),
    )


def unread_notifications(user) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(user=user, read_at__isnull=True)
        .select_related("event__request", "event__actor")
        .order_by("-created_at")
    )
