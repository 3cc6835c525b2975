"""Load the demo communities, their people, social workers, one login per role and a few months of
work at the desk (re-runnable)."""

import time

from django.core.management.base import BaseCommand

from stations.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo data: 安华里社区 and 华贸中心社区 with buildings, households, residents, "
        "enterprises, social workers, demo logins and four months of requests, visits and errands. "
        "Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        self.stdout.write("Loading demo data…")
        counts = load_demo(log=self.stdout.write)
        summary = ", ".join(f"{count} {label}" for label, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {time.monotonic() - started:.1f}s: {summary}. Password: {DEMO_PASSWORD}"
            )
        )
