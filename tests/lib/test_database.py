"""PostgreSQL's connection options: no JIT, client-side cursors, prepared statements (switchable)."""

import pytest
from django.conf import settings
from django.db import connection

from community.lib.database import postgresql_options


def test_options_with_prepared_statements():
    entry = postgresql_options({"OPTIONS": {"sslmode": "require"}}, prepared_statements=True)
    assert entry["OPTIONS"] == {
        "sslmode": "require",
        "options": "-c jit=off",
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    assert entry["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_options_without_prepared_statements():
    entry = postgresql_options({}, prepared_statements=False)
    assert "server_side_binding" not in entry["OPTIONS"]
    assert "prepare_threshold" not in entry["OPTIONS"]
    assert entry["OPTIONS"]["options"] == "-c jit=off"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_repeated_statement_is_prepared_on_postgresql():
    assert settings.DATABASE_PREPARED_STATEMENTS
    assert connection.features.uses_server_side_binding
    with connection.cursor() as cursor:
        for number in range(7):
            cursor.execute("SELECT %s + 1 FROM auth_user LIMIT 1 -- onedesk prepare check", [number])
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%onedesk prepare check%"]
        )
        assert cursor.fetchone()[0] == 1
