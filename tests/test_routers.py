"""The read-replica router (community/lib/routers.py): reads go to `replica` only inside use_replica()
(or a view decorated with @replica_reads), writes and migrations always to `default`; a replica that
is the primary's own database (a test mirror) is not used."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from community.lib import routers
from community.lib.routers import ReplicaRouter, replica_database, replica_reads, use_replica
from residents.models import Resident
from stations.models import ServiceRequest

ROOT = Path(__file__).resolve().parent.parent


class FakeConnection:
    def __init__(self, settings_dict):
        self.settings_dict = settings_dict


class FakeConnections:
    """Just what the router reads of django.db.connections: the aliases and their settings."""

    def __init__(self, **aliases):
        self.settings = aliases

    def __getitem__(self, alias):
        return FakeConnection(self.settings[alias])


PRIMARY = {"ENGINE": "django.db.backends.postgresql", "HOST": "db1", "PORT": "5432", "NAME": "onedesk"}
REPLICA = {**PRIMARY, "HOST": "db2"}


@pytest.fixture
def with_replica(monkeypatch):
    monkeypatch.setattr(routers, "connections", FakeConnections(default=PRIMARY, replica=REPLICA))


@pytest.fixture
def router():
    return ReplicaRouter()


def test_reads_go_to_the_primary_outside_the_block(with_replica, router):
    assert router.db_for_read(ServiceRequest) == "default"


def test_reads_go_to_the_replica_inside_the_block_and_back_after(with_replica, router):
    with use_replica():
        assert router.db_for_read(ServiceRequest) == "replica"
        assert router.db_for_read(Resident) == "replica"
        with use_replica():  # nested blocks keep the replica until the outer one ends
            assert router.db_for_read(ServiceRequest) == "replica"
        assert router.db_for_read(ServiceRequest) == "replica"
    assert router.db_for_read(ServiceRequest) == "default"


def test_the_block_ends_even_on_an_error(with_replica, router):
    with pytest.raises(RuntimeError), use_replica():
        raise RuntimeError("boom")
    assert router.db_for_read(ServiceRequest) == "default"


def test_writes_always_go_to_the_primary(with_replica, router):
    assert router.db_for_write(ServiceRequest) == "default"
    with use_replica():
        assert router.db_for_write(ServiceRequest) == "default"


def test_relations_are_allowed_and_only_the_primary_is_migrated(router):
    assert router.allow_relation(ServiceRequest(), Resident()) is True
    assert router.allow_migrate("default", "stations", "servicerequest") is True
    assert router.allow_migrate("replica", "stations", "servicerequest") is False
    assert router.allow_migrate("replica", "django_tasks_db") is False


def test_without_a_replica_every_read_goes_to_the_primary(monkeypatch, router):
    monkeypatch.setattr(routers, "connections", FakeConnections(default=PRIMARY))
    with use_replica():
        assert router.db_for_read(ServiceRequest) == "default"


def test_a_replica_that_is_the_primarys_own_database_is_not_used(monkeypatch, router):
    # What a test mirror looks like once the test databases are set up: same host, port and name.
    monkeypatch.setattr(routers, "connections", FakeConnections(default=PRIMARY, replica=dict(PRIMARY)))
    with use_replica():
        assert router.db_for_read(ServiceRequest) == "default"


def test_the_view_decorator_reads_from_the_replica_during_the_view_only(with_replica, router):
    seen = []

    @replica_reads
    def view(request, pk):
        """A report."""
        seen.append((router.db_for_read(ServiceRequest), router.db_for_write(ServiceRequest), pk))
        return "response"

    assert view(None, pk=7) == "response"
    assert seen == [("replica", "default", 7)]
    assert view.__name__ == "view" and view.__doc__ == "A report."
    assert router.db_for_read(ServiceRequest) == "default"


def test_querysets_follow_the_router(with_replica, settings):
    settings.DATABASE_ROUTERS = ["community.lib.routers.ReplicaRouter"]
    assert ServiceRequest.objects.all().db == "default"
    with use_replica():
        assert ServiceRequest.objects.all().db == "replica"
        assert ServiceRequest.objects.select_for_update().db == "default"  # a lock is a write
    assert ServiceRequest.objects.all().db == "default"


def test_the_replica_entry_is_a_test_mirror_of_the_primary():
    entry = replica_database({**REPLICA, "TEST": {"NAME": "x"}})
    assert entry["HOST"] == "db2"
    assert entry["TEST"] == {"NAME": "x", "MIRROR": "default"}


def test_without_the_setting_there_is_no_replica_and_no_router():
    if os.environ.get("DATABASE_REPLICA_URL"):
        pytest.skip("this run has a replica configured")
    assert "replica" not in django_settings.DATABASES
    assert not getattr(django_settings, "DATABASE_ROUTERS", [])


def test_settings_add_the_replica_and_the_router_when_the_url_is_set(tmp_path):
    # A fresh interpreter, so the settings are read with the variable set.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "community.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'primary.sqlite3'}",
        "DATABASE_REPLICA_URL": f"sqlite:///{tmp_path / 'replica.sqlite3'}",
    }
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from community.lib.routers import use_replica\n"
        "from stations.models import ServiceRequest\n"
        "replica = settings.DATABASES['replica']\n"
        "print(replica['NAME'].endswith('replica.sqlite3'), replica['TEST']['MIRROR'])\n"
        "print(settings.DATABASE_ROUTERS)\n"
        "with use_replica():\n"
        "    print(ServiceRequest.objects.all().db, ServiceRequest.objects.select_for_update().db)\n"
        "print(ServiceRequest.objects.all().db)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "True default",
        "['community.lib.routers.ReplicaRouter']",
        "replica default",
        "default",
    ]
