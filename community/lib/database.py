"""The PostgreSQL connection options of every alias (the primary and the read replica)."""

PREPARE_THRESHOLD = 5  # psycopg's own default: runs of a statement on a connection before it is prepared


def postgresql_options(settings_dict: dict, *, prepared_statements: bool) -> dict:
    """Set OneDesk's options on one PostgreSQL entry of DATABASES and return it.

    - No JIT: the dashboard's aggregates have high cost estimates (many FILTER clauses), and PostgreSQL
      then spent up to ~1 s JIT-compiling each of them, for queries that run in tens of milliseconds.
    - Client-side cursors for QuerySet.iterator(): Django's choice fields iterate their querysets with
      it, and a server-side cursor costs three round trips (DECLARE, FETCH, CLOSE) for a list of 30
      categories. The project never streams with iterator().
    - Prepared statements: the parameters travel apart from the SQL (server-side binding), so psycopg
      prepares a statement once it has run 5 times on the connection, and PostgreSQL stops parsing and
      planning it on every page. The request page's join of ten tables took 1–2 ms to plan each time.
      A rollback makes psycopg forget every prepared statement of its connection, so an expected
      refusal should not roll back (see stations.services.spaces.booking_create).
    """
    options = settings_dict.setdefault("OPTIONS", {})
    options["options"] = "-c jit=off"
    if prepared_statements:
        options["server_side_binding"] = True
        options["prepare_threshold"] = PREPARE_THRESHOLD  # Django's default (None) never prepares
    settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
    return settings_dict
