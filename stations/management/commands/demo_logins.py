"""Print the demo logins and the address to open (``make run`` shows this before the server starts)."""

import unicodedata

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from residents.models import Community
from stations.demo import DEMO_LOGINS, DEMO_PASSWORD, URL


class Command(BaseCommand):
    help = "Show the demo logins (username, role, community, password) and the URL of the app."

    def handle(self, *args, **options) -> None:
        names = dict(Community.objects.values_list("code", "name"))
        existing = set(
            User.objects.filter(username__in=[login.username for login in DEMO_LOGINS]).values_list(
                "username", flat=True
            )
        )
        rows = [("Username", "Role", "Community", "Password")]
        for login in DEMO_LOGINS:
            scope = names.get(login.community_code, login.community_code) or login.subdistrict or "(all)"
            rows.append((login.username, login.description, scope, DEMO_PASSWORD))
        widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("OneDesk demo logins"))
        for index, row in enumerate(rows):
            line = "  ".join(
                cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
            )
            self.stdout.write(f"  {line.rstrip()}")
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths))
        missing = [login.username for login in DEMO_LOGINS if login.username not in existing]
        if missing:
            self.stdout.write(
                self.style.WARNING(f"  Not loaded yet: {', '.join(missing)}. Run: python manage.py load_demo")
            )
        self.stdout.write("")
        self.stdout.write(f"  Open {self.style.SUCCESS(URL)}")
        self.stdout.write("")


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
