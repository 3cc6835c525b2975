"""Writes on a user's in-app notifications."""

from django.db import transaction
from django.utils import timezone

from stations.models import Notification


def notifications_send(*, event_id: int, user_ids: list[int]) -> int:
    """An unread notice of the event for each user, once: sending the same notice again (a retried
    task) adds nothing. One INSERT; returns how many users were asked for."""
    Notification.objects.bulk_create(
        [Notification(user_id=user_id, event_id=event_id) for user_id in user_ids], ignore_conflicts=True
    )
    return len(user_ids)


@transaction.atomic
def notifications_mark_read(*, user) -> int:
    """Mark all of the user's unread notifications read; returns how many changed."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
