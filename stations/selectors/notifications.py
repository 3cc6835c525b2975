"""Reads of a user's in-app notifications."""

import datetime as dt

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from stations.models import Notification

RECENT_READ_DAYS = 30


def notifications_for(user, *, now: dt.datetime | None = None) -> QuerySet[Notification]:
    """Unread notifications first (newest first), then those read in the last 30 days."""
    now = now or timezone.now()
    return (
        Notification.objects.filter(user=user)
        .filter(Q(read_at__isnull=True) | Q(read_at__gte=now - dt.timedelta(days=RECENT_READ_DAYS)))
        .select_related("event__request", "event__actor")
        .order_by(F("read_at").desc(nulls_first=True), "-created_at", "-pk")
    )
