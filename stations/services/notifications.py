"""Writes on a user's in-app notifications."""

from django.db import transaction
from django.utils import timezone

from stations.models import Notification


@transaction.atomic
def notifications_mark_read(*, user) -> int:
    """Mark all of the user's unread notifications read; returns how many changed."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
