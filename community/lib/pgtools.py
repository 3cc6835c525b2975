"""Helpers for the backup_db / restore_db commands: run pg_dump and pg_restore against a database
described by a Django settings dict, with the password in the environment, never on the command line
(where every user of the machine could read it with ps)."""

import os
import shutil
import subprocess

import dj_database_url
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1", "[::1]"}


def require_postgres(settings_dict: dict) -> None:
    if not settings_dict["ENGINE"].endswith("postgresql"):
        raise CommandError(
            _(
                "Backups need PostgreSQL: set DATABASE_URL=postgres://user:password@host:5432/name. "
                "The SQLite development database is a single file (var/onedesk.sqlite3): copy it instead."
            )
        )


def settings_from_url(url: str) -> dict:
    if not url:
        raise CommandError(_("Give the database to restore into as postgres://user:password@host:5432/name."))
    try:
        return dj_database_url.parse(url)
    except ValueError as exc:
        raise CommandError(_("Not a database URL: %(error)s") % {"error": exc}) from None


def _where(settings_dict: dict) -> tuple[str, str, str]:
    host = str(settings_dict.get("HOST") or "")
    host = "local" if host in _LOCAL_HOSTS or host.startswith("/") else host.lower()
    port = str(settings_dict.get("PORT") or "5432")
    return host, port, settings_dict.get("NAME") or ""


def same_database(a: dict, b: dict) -> bool:
    """True when both describe the same database (localhost, 127.0.0.1 and a socket count as one host)."""
    return _where(a) == _where(b)


def pg_env(settings_dict: dict) -> dict:
    """The environment for libpq clients (pg_dump, pg_restore) to reach this database."""
    env = dict(os.environ)
    for key, value in {
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGDATABASE": settings_dict.get("NAME"),
    }.items():
        if value:
            env[key] = str(value)
        else:
            env.pop(key, None)
    return env


def run(program: str, args: list[str], settings_dict: dict) -> subprocess.CompletedProcess:
    path = shutil.which(program)
    if path is None:
        raise CommandError(
            _("%(program)s is not installed: apt-get install postgresql-client") % {"program": program}
        )
    result = subprocess.run([path, *args], env=pg_env(settings_dict), capture_output=True, text=True)
    if result.returncode != 0:
        raise CommandError(
            _("%(program)s failed: %(error)s") % {"program": program, "error": result.stderr.strip()}
        )
    return result
