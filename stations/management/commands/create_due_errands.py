"""Turn due recurring errands into requests. Idempotent: safe from cron, safe to run twice."""

from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from stations.services.visits import create_due_errands


class Command(BaseCommand):
    help = (
        "Create the request of every recurring errand due today or earlier (one per errand, even after "
        "missed runs) and move its next due date past today. Running it again creates nothing new. "
        "Crontab, every morning at 06:05: "
        "5 6 * * * cd /srv/onedesk && .venv/bin/python manage.py create_due_errands"
    )

    def handle(self, *args, **options) -> None:
        created = create_due_errands()
        self.stdout.write(
            ngettext(
                "%(count)d request created from recurring errands.",
                "%(count)d requests created from recurring errands.",
                created,
            )
            % {"count": created}
        )
