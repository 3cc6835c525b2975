"""``manage.py restore_db FILE --target-database-url URL`` (``make restore``): pg_restore a backup_db
dump into a database, by default a scratch one: restoring over the live database needs --force."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from community.lib import pgtools


class Command(BaseCommand):
    help = (
        "Restore a backup_db dump into TARGET (postgres://…) with pg_restore --no-owner --clean --if-exists. "
        "Refuses to overwrite the database of DATABASE_URL itself unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A dump made by backup_db (var/backups/onedesk-….dump).")
        parser.add_argument(
            "--target-database-url",
            required=True,
            help="The database to restore into, e.g. a scratch one: postgres://user:pw@host:5432/onedesk_restore",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Allow restoring over the database the app itself uses (DATABASE_URL): its data is replaced.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(
        self, *args, file: str, target_database_url: str, force: bool, database: str, **options
    ) -> str:
        dump = Path(file)
        if not dump.is_file():
            raise CommandError(_("No such dump: %(file)s") % {"file": dump})
        target = pgtools.settings_from_url(target_database_url)
        pgtools.require_postgres(target)
        if pgtools.same_database(target, connections[database].settings_dict) and not force:
            raise CommandError(
                _(
                    "%(name)s is the database the app uses (DATABASE_URL): restoring would replace its data. "
                    "Restore into a scratch database, or pass --force (make restore … FORCE=1)."
                )
                % {"name": target["NAME"]}
            )
        pgtools.run(
            "pg_restore",
            [
                "--no-owner",
                "--no-privileges",
                "--clean",
                "--if-exists",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                target["NAME"],
                str(dump),
            ],
            target,
        )
        if options["verbosity"] > 0:
            self.stderr.write(f"Restored {dump} into {target['NAME']}.")
        return target["NAME"]
