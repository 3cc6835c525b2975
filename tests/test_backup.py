"""make backup / make restore: a dump of the database restores into a scratch database row for row."""

import os
import stat
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from community.lib import pgtools
from stations.services.categories import categories_seed
from tests import factories

BASE_DIR = Path(__file__).resolve().parent.parent


def _url(settings_dict: dict, name: str | None = None) -> str:
    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/".format(
        **{
            **settings_dict,
            "HOST": settings_dict["HOST"] or "127.0.0.1",
            "PORT": settings_dict["PORT"] or 5432,
        }
    ) + (name or settings_dict["NAME"])


def _connect(settings_dict: dict, dbname: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        dbname=dbname,
        **kwargs,
    )


def _fingerprint(conn: psycopg.Connection) -> dict:
    """Every table's row count and an md5 of all its rows (as text, in a fixed order); every
    sequence's position, so new rows after a restore do not collide with restored ones."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    ]
    result = {}
    for table in tables:
        count, digest = conn.execute(
            psycopg.sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t"
            ).format(psycopg.sql.Identifier(table))
        ).fetchone()
        result[table] = (count, digest)
    for (sequence,) in conn.execute(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
    ).fetchall():
        result[f"seq:{sequence}"] = conn.execute(
            psycopg.sql.SQL("SELECT last_value FROM {}").format(psycopg.sql.Identifier(sequence))
        ).fetchone()
    return result


@pytest.fixture
def scratch_db():
    """A new empty database owned by the test role (it has CREATEDB), dropped at the end."""
    source = connection.settings_dict
    name = f"onedesk_restore_{uuid.uuid4().hex[:10]}"
    with _connect(source, "postgres", autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(psycopg.sql.Identifier(name))
        )
    try:
        yield name
    finally:
        with _connect(source, "postgres", autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


def _some_rows():
    community = factories.CommunityFactory(name="安华里社区", code="AHL")
    building = factories.BuildingFactory(community=community, number="1号楼")
    household = factories.HouseholdFactory(building=building, entrance=2, room="301")
    factories.ResidentFactory(household=household, name="张焱", phone="13812341234")
    factories.ResidentFactory(household=household, name="欧阳·娜仁", phone="13900001111")
    factories.make_worker(community=community, buildings=[building], username="worker_a")
    categories_seed(community=community)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_backup_restores_identically_into_a_scratch_database(tmp_path, scratch_db):
    _some_rows()
    source = connection.settings_dict

    dump = Path(call_command("backup_db", output_dir=str(tmp_path), verbosity=0))

    assert dump.parent == tmp_path
    assert dump.name.startswith("onedesk-") and dump.suffix == ".dump"
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # residents' data: the owner only
    assert dump.read_bytes()[:5] == b"PGDMP"  # custom format
    assert [p.name for p in tmp_path.iterdir()] == [dump.name]  # no partial file left

    call_command("restore_db", str(dump), target_database_url=_url(source, scratch_db), verbosity=0)

    with _connect(source, source["NAME"]) as original, _connect(source, scratch_db) as restored:
        before = _fingerprint(original)
        after = _fingerprint(restored)
    assert before["residents_resident"][0] == 2
    assert before["stations_category"][0] > 0
    assert after == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_restore_refuses_the_live_database_without_force(tmp_path, english):
    source = connection.settings_dict
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP")

    with pytest.raises(CommandError, match="database the app uses"):
        call_command("restore_db", str(dump), target_database_url=_url(source), verbosity=0)
    # localhost and 127.0.0.1 are the same server.
    with pytest.raises(CommandError, match="database the app uses"):
        call_command(
            "restore_db",
            str(dump),
            target_database_url=_url(source).replace("@127.0.0.1:", "@localhost:"),
            verbosity=0,
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_make_backup_and_make_restore(tmp_path, scratch_db):
    _some_rows()
    source = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DATABASE_URL"] = _url(source)

    backup = subprocess.run(
        ["make", "-s", "backup", f"BACKUP_DIR={tmp_path}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert backup.returncode == 0, backup.stderr
    (dump,) = tmp_path.glob("onedesk-*.dump")

    refused = subprocess.run(
        ["make", "-s", "restore", f"FILE={dump}", f"TARGET_DATABASE_URL={_url(source)}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "FORCE=1" in refused.stderr

    restore = subprocess.run(
        ["make", "-s", "restore", f"FILE={dump}", f"TARGET_DATABASE_URL={_url(source, scratch_db)}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert restore.returncode == 0, restore.stderr
    with _connect(source, source["NAME"]) as original, _connect(source, scratch_db) as restored:
        assert _fingerprint(restored) == _fingerprint(original)


@pytest.fixture
def english():
    # The commands' messages are translated; these tests match the English source text.
    with translation.override("en"):
        yield


def test_backup_refuses_sqlite(english):
    with pytest.raises(CommandError, match="Backups need PostgreSQL"):
        pgtools.require_postgres({"ENGINE": "django.db.backends.sqlite3", "NAME": "var/onedesk.sqlite3"})


def test_restore_target_must_be_a_postgres_url(english):
    with pytest.raises(CommandError, match="Backups need PostgreSQL"):
        pgtools.require_postgres(pgtools.settings_from_url("sqlite:///tmp/x.sqlite3"))
    with pytest.raises(CommandError):
        pgtools.settings_from_url("")


def test_restore_needs_an_existing_file(tmp_path, english):
    with pytest.raises(CommandError, match="No such dump"):
        call_command(
            "restore_db", str(tmp_path / "missing.dump"), target_database_url="postgres://u:p@h:5432/x"
        )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("postgres://u:p@127.0.0.1:5432/onedesk", "postgres://v:q@localhost/onedesk", True),
        ("postgres://u:p@127.0.0.1:5432/onedesk", "postgres://u:p@127.0.0.1:5432/onedesk_restore", False),
        ("postgres://u:p@db1:5432/onedesk", "postgres://u:p@db2:5432/onedesk", False),
        ("postgres://u:p@db1:5432/onedesk", "postgres://u:p@DB1:5433/onedesk", False),
    ],
)
def test_same_database(a, b, same):
    assert pgtools.same_database(pgtools.settings_from_url(a), pgtools.settings_from_url(b)) is same


def test_password_goes_to_the_environment_not_the_command_line():
    env = pgtools.pg_env(pgtools.settings_from_url("postgres://u:s3cret@db:5433/onedesk"))

    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"]) == (
        "db",
        "5433",
        "u",
        "s3cret",
        "onedesk",
    )


def test_make_restore_without_arguments_prints_usage():
    result = subprocess.run(["make", "-s", "restore"], cwd=BASE_DIR, capture_output=True, text=True)

    assert result.returncode == 2
    assert "Usage: make restore FILE=" in result.stdout
