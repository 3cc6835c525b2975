"""``manage.py backup_db`` (``make backup``): a pg_dump of the database in custom format."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from community.lib import pgtools


class Command(BaseCommand):
    help = (
        "Back up the PostgreSQL database of DATABASE_URL into var/backups/onedesk-<timestamp>.dump "
        "(pg_dump custom format; restore it with restore_db). SQLite is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir",
            default=str(settings.VAR_DIR / "backups"),
            help="Folder for the dump (default: var/backups).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(self, *args, output_dir: str, database: str, **options) -> str:
        source = connections[database].settings_dict
        pgtools.require_postgres(source)
        folder = Path(output_dir)
        # Residents' personal data: only the account running the backups may read it.
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"onedesk-{stamp}.dump"
        if target.exists():
            raise CommandError(_("%(file)s exists already.") % {"file": target})
        partial = folder / f".{target.name}.partial"
        # Created empty with 0600 first: pg_dump then writes into a file nobody else can open.
        partial.touch(mode=0o600, exist_ok=False)
        try:
            pgtools.run("pg_dump", ["--format=custom", "--no-owner", "--file", str(partial)], source)
            # Only a complete dump gets the final name: a failed run leaves no file that looks good.
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        if options["verbosity"] > 0:
            self.stderr.write(f"Backed up {source['NAME']} to {target} ({target.stat().st_size} bytes).")
        return str(target)
