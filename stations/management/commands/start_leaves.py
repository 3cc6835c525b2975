"""Hand over the open requests of workers whose leave runs today. Idempotent: safe from cron."""

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import ngettext

from stations.models import Leave, SocialWorker
from stations.services.staff import hand_over_open_requests


class Command(BaseCommand):
    help = (
        "For every worker on leave today, hand their open requests to the cover or the least-loaded "
        "colleague of the same type (each with a hand-over event on the request's timeline). Requests "
        "already handed over are no longer the absent worker's, so a second run moves nothing. "
        "Crontab, every morning at 06:00: "
        "0 6 * * * cd /srv/onedesk && .venv/bin/python manage.py start_leaves"
    )

    def handle(self, *args, **options) -> None:
        today = timezone.localdate()
        on_leave = Leave.objects.filter(starts_on__lte=today, ends_on__gte=today).values("worker_id")
        moved = 0
        for worker in SocialWorker.objects.filter(pk__in=on_leave).select_related("community").order_by("pk"):
            moved += hand_over_open_requests(worker=worker, actor=None, day=today)
        self.stdout.write(
            ngettext("%(count)d open request handed over.", "%(count)d open requests handed over.", moved)
            % {"count": moved}
        )
