"""The SQL of the dashboards' summary (see stations.services.summary for why and what): the period rules
of stations.rates written once more as SQL, the trigger functions built from them, and the statements
that install, remove and rebuild them."""

from __future__ import annotations

from stations.choices import PROACTIVE_CHANNELS, EventKind, Satisfaction, Status
from stations.services.summary_care_sql import CARE_TRIGGERS, care_bodies

MONTH_FIGURES = (
    "received",
    "cancelled",
    "proactive",
    "reactive",
    "response_num",
    "response_den",
    "resolution_num",
    "resolution_den",
    "satisfaction_num",
    "satisfaction_den",
)
MONTH_KEY = ("community_id", "period", "category_id", "line")
DAY_KEY = ("community_id", "day")
DAY_FIGURES = ("received", "resolved")
SATISFIED = (Satisfaction.SATISFIED, Satisfaction.BASIC)  # as stations.rates.SATISFIED

# The columns of a request that its period figures depend on: an UPDATE that changes none of them leaves
# the summary alone (most updates: notes, urges, reassignment, version).
_FIGURE_COLUMNS = (
    "community_id",
    "category_id",
    "line",
    "channel",
    "status",
    "received_at",
    "closed_at",
    "accepted_at",
    "response_due_at",
    "rated_at",
    "solved",
    "satisfaction",
)
REQUEST_TRIGGERS = {
    # name: (table, event, transition tables)
    "summary_request_insert": ("stations_servicerequest", "INSERT", "NEW TABLE AS new_rows"),
    "summary_request_update": (
        "stations_servicerequest",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    "summary_request_delete": ("stations_servicerequest", "DELETE", "OLD TABLE AS old_rows"),
    "summary_rating_insert": ("stations_rating", "INSERT", "NEW TABLE AS new_rows"),
    "summary_rating_update": ("stations_rating", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    "summary_rating_delete": ("stations_rating", "DELETE", "OLD TABLE AS old_rows"),
    "summary_event_insert": ("stations_requestevent", "INSERT", "NEW TABLE AS new_rows"),
    "summary_event_update": (
        "stations_requestevent",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    "summary_event_delete": ("stations_requestevent", "DELETE", "OLD TABLE AS old_rows"),
}
TRIGGERS = {**REQUEST_TRIGGERS, **CARE_TRIGGERS}


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _in(values) -> str:
    return "(" + ", ".join(_lit(v) for v in sorted(values)) + ")"


# --- The period figures of a set of requests, as steps of the cut-off ----------------------------------------


def _flags(tz: str) -> str:
    """stations.rates' sets for one request at cut-off ``m.c`` (``m.found`` / ``m.h_*``: its latest answer
    before the cut-off, looked up only when the request's own answer is not before it). Written as the SQL Django generates
    for rates.figure_q, so NULLs behave the same: a figure counts when its condition is TRUE."""
    cancelled = _lit(Status.CANCELLED)
    proactive = _in(PROACTIVE_CHANNELS)
    satisfied = _in(SATISFIED)
    rec = f"(NOT (m.status = {cancelled}) OR m.closed_at >= m.c)"
    later = "(m.rated_at IS NOT NULL AND m.rated_at >= m.c)"
    answered = f"(m.rated_at < m.c OR ({later} AND m.found))"
    solved = f"((m.rated_at < m.c AND m.solved IN (true)) OR ({later} AND m.h_solved))"
    satisfied_then = f"((m.rated_at < m.c AND m.satisfaction IN {satisfied}) OR ({later} AND m.h_satisfaction IN {satisfied}))"
    flags = {
        "received": rec,
        "cancelled": f"(m.status = {cancelled} AND NOT (m.closed_at >= m.c AND m.closed_at IS NOT NULL))",
        "proactive": f"({rec} AND m.channel IN {proactive})",
        "reactive": f"({rec} AND NOT (m.channel IN {proactive}))",
        "response_num": f"({rec} AND m.accepted_at < m.c AND m.accepted_at <= m.response_due_at)",
        "response_den": f"({rec} AND (m.response_due_at < m.c OR m.accepted_at < m.c))",
        "resolution_num": f"({rec} AND {answered} AND {solved})",
        "resolution_den": f"({rec} AND {answered})",
        "satisfaction_num": f"({rec} AND {answered} AND {satisfied_then})",
        "satisfaction_den": f"({rec} AND {answered})",
    }
    return ",\n          ".join(f"coalesce({sql}, false)::int AS {name}" for name, sql in flags.items())


def month_steps(name: str, requests: str, ratings: str, tz: str) -> str:
    """CTEs ending in ``name``: rows (community_id, period, category_id, line, at, <MONTH_FIGURES>) giving, for
    each request of ``requests``, its figures at the first cut-off after now (``at`` NULL: settled) and the
    change at each later moment of the request before its month ends (``at``: for cut-offs after it).
    ``ratings`` is the follow-up history to read (the table, or the table as it was before a statement)."""
    tz = _lit(tz)
    changes = ",\n      ".join(
        f"s.{f} - lag(s.{f}, 1, 0) OVER (PARTITION BY s.id ORDER BY s.at NULLS FIRST) AS {f}"
        for f in MONTH_FIGURES
    )
    return f"""
{name}_req AS (
  SELECT r.id, r.community_id, r.category_id, r.line, r.channel, r.status, r.closed_at, r.accepted_at,
         r.response_due_at, r.rated_at, r.solved, r.satisfaction, b.period, b.p_end,
         least(b.p_end, now() + interval '1 microsecond') AS c0
  FROM {requests} r
  CROSS JOIN LATERAL (SELECT date_trunc('month', r.received_at AT TIME ZONE {tz})::date AS period) a
  CROSS JOIN LATERAL (
    SELECT a.period, ((a.period + interval '1 month')::timestamp AT TIME ZONE {tz}) AS p_end
  ) b
),
{name}_m AS (
  -- Each request at its cut-offs: the first after now (at NULL), and just after each later moment of it
  -- before its month ends. Per row (LATERAL), so nothing is joined that the planner could misjudge.
  SELECT r.*, t.at, coalesce(t.at + interval '1 microsecond', r.c0) AS c
  FROM {name}_req r CROSS JOIN LATERAL (
    SELECT DISTINCT x.at
    FROM (VALUES (NULL::timestamptz), (r.closed_at), (r.accepted_at), (r.response_due_at), (r.rated_at)) x(at)
    WHERE x.at IS NULL OR (x.at >= r.c0 AND x.at < r.p_end)
  ) t
  UNION
  -- An answer dated after now (only an answer entered ahead of time) is a moment of its own.
  SELECT r.*, g.at, g.at + interval '1 microsecond'
  FROM {name}_req r JOIN (SELECT x.* FROM {ratings} x WHERE x.at > now()) g ON g.request_id = r.id
  WHERE g.at >= r.c0 AND g.at < r.p_end
),
{name}_s AS (
  -- With the latest answer before the cut-off where the request's own answer is not before it (one join:
  -- the ratings may include a transition table, which has no index).
  SELECT DISTINCT ON (m.id, m.at) m.*, g.id IS NOT NULL AS found, g.solved AS h_solved,
         g.satisfaction AS h_satisfaction
  FROM {name}_m m
  LEFT JOIN {ratings} g ON m.rated_at >= m.c AND g.request_id = m.id AND g.at < m.c
  ORDER BY m.id, m.at, g.at DESC NULLS LAST, g.id DESC NULLS LAST
),
{name} AS (
  SELECT s.community_id, s.period, s.category_id, s.line, s.at,
      {changes}
  FROM (
    SELECT m.id, m.community_id, m.period, m.category_id, m.line, m.at,
          {_flags(tz)}
    FROM {name}_s m
  ) s
)"""


def _sums(columns: tuple[str, ...], sign: str = "") -> str:
    return ", ".join(f"sum({sign}{c}) AS {c}" for c in columns)


def _nonzero(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"{c} <> 0" for c in columns)


def _apply(
    table: str, key: tuple[str, ...], figures: tuple[str, ...], var: str, ctes: str, deltas: str
) -> str:
    """One statement: group ``deltas`` (key, at, figures) and add them to ``table``: the settled rows (``at``
    NULL, stamped settled_until = now()) and the later steps. Selects the settled keys it touched into the
    PL/pgSQL array variables <var>_<column> (for `_fold`)."""
    cols = ", ".join(key)
    columns = f"{cols}, at, settled_until, {', '.join(figures)}"
    add = ", ".join(f"{f} = s.{f} + excluded.{f}" for f in figures)
    figs = ", ".join(figures)
    into = ", ".join(f"{var}_{c}" for c in key)
    aggs = ", ".join(f"array_agg({c})" for c in key)
    return f"""
WITH {ctes}{"," if ctes else ""}
d AS ({deltas}),
g AS (SELECT {cols}, at, {_sums(figures)} FROM d GROUP BY {cols}, at),
nz AS (SELECT * FROM g WHERE {_nonzero(figures)}),
settled AS (
  INSERT INTO {table} AS s ({columns})
  SELECT {cols}, NULL, now(), {figs} FROM nz WHERE at IS NULL ORDER BY {cols}
  ON CONFLICT ({cols}) WHERE at IS NULL
  DO UPDATE SET {add}, settled_until = greatest(s.settled_until, excluded.settled_until)
  RETURNING {cols}
),
steps AS (
  INSERT INTO {table} AS s ({columns})
  SELECT {cols}, at, NULL, {figs} FROM nz WHERE at IS NOT NULL ORDER BY {cols}, at
  ON CONFLICT ({cols}, at) WHERE at IS NOT NULL DO UPDATE SET {add}
)
SELECT {aggs} INTO {into} FROM settled;
"""


def _fold(table: str, key: tuple[str, ...], figures: tuple[str, ...], var: str) -> str:
    """Fold the steps that have come to pass into the settled rows, for the settled keys just written (their
    rows are already locked by this transaction, so folding takes no new lock)."""
    cols = ", ".join(key)
    match = " AND ".join(f"s.{c} = k.{c}" for c in key)
    add = ", ".join(f"{f} = s.{f} + excluded.{f}" for f in figures)
    unnest = ", ".join(f"{var}_{c}" for c in key)
    names = ", ".join(key)
    return f"""
IF {var}_{key[0]} IS NOT NULL THEN
  WITH moved AS (
    DELETE FROM {table} s USING unnest({unnest}) AS k({names})
    WHERE s.at IS NOT NULL AND s.at < now() AND {match}
    RETURNING s.*
  )
  INSERT INTO {table} AS s ({cols}, at, settled_until, {", ".join(figures)})
  SELECT {cols}, NULL, now(), {_sums(figures)} FROM moved GROUP BY {cols} ORDER BY {cols}
  ON CONFLICT ({cols}) WHERE at IS NULL
  DO UPDATE SET {add}, settled_until = greatest(s.settled_until, excluded.settled_until);
END IF;"""


# The PL/pgSQL array variables: the settled keys a statement wrote, from `_apply` to `_fold`; the households
# whose care rows a statement recomputes (`_care_block`).
_VARIABLES = {
    "km": {"community_id": "bigint", "period": "date", "category_id": "bigint", "line": "varchar"},
    "kd": {"community_id": "bigint", "day": "date"},
    "care": {"households": "bigint", "communities": "bigint", "locked": "bigint"},
}


def _month_block(ctes: str, deltas: str) -> str:
    table = "stations_summarymonth"
    return _apply(table, MONTH_KEY, MONTH_FIGURES, "km", ctes, deltas) + _fold(
        table, MONTH_KEY, MONTH_FIGURES, "km"
    )


def _day_block(ctes: str, deltas: str) -> str:
    table = "stations_summaryday"
    return _apply(table, DAY_KEY, DAY_FIGURES, "kd", ctes, deltas) + _fold(table, DAY_KEY, DAY_FIGURES, "kd")


def _signed(name: str, sign: int) -> str:
    keyed = ", ".join((*MONTH_KEY, "at"))
    return f"SELECT {keyed}, " + ", ".join(f"{sign} * {f} AS {f}" for f in MONTH_FIGURES) + f" FROM {name}"


def _day_received(rows: str, sign: int, tz: str) -> str:
    return (
        f"SELECT r.community_id, (r.received_at AT TIME ZONE {_lit(tz)})::date AS day, "
        "CASE WHEN r.received_at > now() THEN r.received_at END AS at, "
        f"{sign} AS received, 0 AS resolved FROM {rows} r"
    )


def _resolved(alias: str = "e") -> str:
    return f"{alias}.kind = {_lit(EventKind.STATUS)} AND {alias}.new_status = {_lit(Status.RESOLVED)}"


def _week(expr: str, tz: str) -> str:
    return f"date_trunc('week', {expr} AT TIME ZONE {_lit(tz)})::date"


def _first_resolutions(name: str, pairs: str, events: str, tz: str) -> str:
    """CTE ``name``: (request_id, wk, first_at) — the first resolution in each week of the requests of
    ``pairs`` among ``events`` (grouped first and matched by hash: ``events`` may be a transition table)."""
    return f"""
{name} AS (
  SELECT e.request_id, {_week("e.at", tz)} AS wk, min(e.at) AS first_at
  FROM {events} e
  WHERE {_resolved()} AND e.request_id IN (SELECT request_id FROM {pairs})
  GROUP BY 1, 2
)"""


def _resolved_deltas(tz: str, *, community: str = "r.community_id", join: str = "") -> str:
    """Deltas of SummaryDay.resolved from CTEs ``aff`` (request_id, wk), ``was`` and ``now_first``
    (request_id, wk, first_at): -1 on the old first resolution's day, +1 on the new one's."""
    tz_ = _lit(tz)
    join = join or "JOIN stations_servicerequest r ON r.id = p.request_id"
    return f"""
SELECT {community} AS community_id, (p.old_at AT TIME ZONE {tz_})::date AS day,
       CASE WHEN p.old_at > now() THEN p.old_at END AS at, 0 AS received, -1 AS resolved
FROM pairs p {join} WHERE p.old_at IS NOT NULL
UNION ALL
SELECT {community}, (p.new_at AT TIME ZONE {tz_})::date, CASE WHEN p.new_at > now() THEN p.new_at END, 0, 1
FROM pairs p {join} WHERE p.new_at IS NOT NULL"""


def _pairs() -> str:
    # Grouped, not joined: the weeks' first resolutions before and after, side by side (weeks of the affected
    # requests that the statement did not touch come out equal and are dropped).
    return """
pairs AS (
  SELECT request_id, wk, min(first_at) FILTER (WHERE src = 0) AS old_at, min(first_at) FILTER (WHERE src = 1) AS new_at
  FROM (SELECT 0 AS src, * FROM was UNION ALL SELECT 1, * FROM now_first) x
  GROUP BY request_id, wk
  HAVING min(first_at) FILTER (WHERE src = 0) IS DISTINCT FROM min(first_at) FILTER (WHERE src = 1)
)"""


# --- The trigger functions -------------------------------------------------------------------------------------


def _changed_requests() -> str:
    new = ", ".join(f"n.{c}" for c in _FIGURE_COLUMNS)
    old = ", ".join(f"o.{c}" for c in _FIGURE_COLUMNS)
    return (
        f"(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ({new}) IS DISTINCT FROM ({old}))"
    )


def _function_bodies(tz: str) -> dict[str, str]:
    resolved_new = (
        f"SELECT DISTINCT e.request_id, {_week('e.at', tz)} AS wk FROM new_rows e WHERE {_resolved()}"
    )
    resolved_old = (
        f"SELECT DISTINCT e.request_id, {_week('e.at', tz)} AS wk FROM old_rows e WHERE {_resolved()}"
    )
    events_now = "stations_requestevent"
    facts = (
        "INSERT INTO stations_summaryresolution (event_id, request_id, community_id, actor_id, at, received_at)\n"
        "SELECT e.id, e.request_id, r.community_id, e.actor_id, e.at, r.received_at FROM new_rows e\n"
        f"JOIN stations_servicerequest r ON r.id = e.request_id WHERE {_resolved()};"
    )
    unfacts = "DELETE FROM stations_summaryresolution f USING old_rows e WHERE f.event_id = e.id;"
    changed = _changed_requests()
    requests_of_ratings = (
        "(SELECT r.* FROM stations_servicerequest r WHERE r.id IN (SELECT request_id FROM aff))"
    )
    rating_aff = {
        "INSERT": "SELECT DISTINCT request_id FROM new_rows",
        "UPDATE": "SELECT request_id FROM new_rows UNION SELECT request_id FROM old_rows",
        "DELETE": "SELECT DISTINCT request_id FROM old_rows",
    }
    # The ratings / events of the affected requests as they were before the statement: without its new rows,
    # with its old ones. Restricted to those requests (their request_id index), never the whole table.
    ratings_before = {
        "INSERT": "(SELECT g.* FROM stations_rating g WHERE g.request_id IN (SELECT request_id FROM aff) "
        "AND g.id NOT IN (SELECT id FROM new_rows))",
        "UPDATE": "(SELECT g.* FROM stations_rating g WHERE g.request_id IN (SELECT request_id FROM aff) "
        "AND g.id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT * FROM old_rows)",
        "DELETE": "(SELECT g.* FROM stations_rating g WHERE g.request_id IN (SELECT request_id FROM aff) "
        "UNION ALL SELECT * FROM old_rows)",
    }
    events_before = {
        "INSERT": "(SELECT e.* FROM stations_requestevent e WHERE e.request_id IN (SELECT request_id FROM aff) "
        "AND e.id NOT IN (SELECT id FROM new_rows))",
        "UPDATE": "(SELECT e.* FROM stations_requestevent e WHERE e.request_id IN (SELECT request_id FROM aff) "
        "AND e.id NOT IN (SELECT id FROM new_rows) UNION ALL SELECT * FROM old_rows)",
        "DELETE": "(SELECT e.* FROM stations_requestevent e WHERE e.request_id IN (SELECT request_id FROM aff) "
        "UNION ALL SELECT * FROM old_rows)",
    }
    event_aff = {
        "INSERT": resolved_new,
        "UPDATE": f"{resolved_new} UNION {resolved_old}",
        "DELETE": resolved_old,
    }
    ratings_now = "stations_rating"
    bodies = {
        "summary_request_insert": (
            "IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;"
            + _month_block(month_steps("after", "new_rows", ratings_now, tz), _signed("after", 1))
            + _day_block("", _day_received("new_rows", 1, tz))
        ),
        "summary_request_update": (
            f"IF NOT EXISTS {changed} THEN RETURN NULL; END IF;"
            + _month_block(
                month_steps(
                    "before", f"(SELECT o.* FROM old_rows o WHERE o.id IN {changed})", ratings_now, tz
                )
                + ","
                + month_steps(
                    "after", f"(SELECT n.* FROM new_rows n WHERE n.id IN {changed})", ratings_now, tz
                ),
                f"{_signed('before', -1)} UNION ALL {_signed('after', 1)}",
            )
            + _day_block(
                "moved AS (SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
                "WHERE (n.community_id, n.received_at) IS DISTINCT FROM (o.community_id, o.received_at))",
                _day_received("(SELECT o.* FROM old_rows o WHERE o.id IN (SELECT id FROM moved))", -1, tz)
                + " UNION ALL "
                + _day_received("(SELECT n.* FROM new_rows n WHERE n.id IN (SELECT id FROM moved))", 1, tz),
            )
            # A request moved to another community takes its resolutions along.
            + _day_block(
                f"""moved AS (
  SELECT n.id, o.community_id AS old_community, n.community_id AS new_community
  FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.community_id <> o.community_id
),
firsts AS (
  SELECT e.request_id, min(e.at) AS first_at FROM stations_requestevent e
  WHERE e.request_id IN (SELECT id FROM moved) AND {_resolved()}
  GROUP BY e.request_id, {_week("e.at", tz)}
)""",
                f"""SELECT m.old_community AS community_id, (f.first_at AT TIME ZONE {_lit(tz)})::date AS day,
       CASE WHEN f.first_at > now() THEN f.first_at END AS at, 0 AS received, -1 AS resolved
FROM firsts f JOIN moved m ON m.id = f.request_id
UNION ALL
SELECT m.new_community, (f.first_at AT TIME ZONE {_lit(tz)})::date,
       CASE WHEN f.first_at > now() THEN f.first_at END, 0, 1
FROM firsts f JOIN moved m ON m.id = f.request_id""",
            )
            + """
UPDATE stations_summaryresolution f SET community_id = n.community_id, received_at = n.received_at
FROM new_rows n JOIN old_rows o ON o.id = n.id
WHERE f.request_id = n.id AND (n.community_id, n.received_at) IS DISTINCT FROM (o.community_id, o.received_at);"""
        ),
        "summary_request_delete": (
            "IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;"
            + _month_block(month_steps("before", "old_rows", ratings_now, tz), _signed("before", -1))
            + _day_block("", _day_received("old_rows", -1, tz))
        ),
    }
    for event in ("INSERT", "UPDATE", "DELETE"):
        rows = "new_rows" if event != "DELETE" else "old_rows"
        bodies[f"summary_rating_{event.lower()}"] = (
            f"IF NOT EXISTS (SELECT 1 FROM {rows}) THEN RETURN NULL; END IF;"
            + _month_block(
                f"aff AS ({rating_aff[event]}),"
                + month_steps("before", requests_of_ratings, ratings_before[event], tz)
                + ","
                + month_steps("after", requests_of_ratings, ratings_now, tz),
                f"{_signed('before', -1)} UNION ALL {_signed('after', 1)}",
            )
        )
        body = f"IF NOT EXISTS (SELECT 1 FROM {rows}) THEN RETURN NULL; END IF;"
        if event in ("UPDATE", "DELETE"):
            body += "\n" + unfacts
        if event in ("INSERT", "UPDATE"):
            body += "\n" + facts
        body += _day_block(
            f"aff AS ({event_aff[event]}),"
            + _first_resolutions("was", "aff", events_before[event], tz)
            + ","
            + _first_resolutions("now_first", "aff", events_now, tz)
            + ","
            + _pairs(),
            _resolved_deltas(tz),
        )
        bodies[f"summary_event_{event.lower()}"] = body
    return bodies


def _function_sql(name: str, body: str) -> str:
    declare = "\n".join(
        f"  {var}_{column} {kind}[];"
        for var, columns in _VARIABLES.items()
        for column, kind in columns.items()
    )
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
{declare}
BEGIN
{body}
RETURN NULL;
END
$body$;"""


def install_sql(tz: str, triggers: dict = TRIGGERS) -> list[str]:
    """The statements that (re)create the trigger functions and triggers, for the local time zone ``tz``."""
    statements = []
    for name, body in {**_function_bodies(tz), **care_bodies()}.items():
        if name in triggers:
            statements.append(_function_sql(name, body))
    for name, (table, event, transitions) in triggers.items():
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    return statements


def uninstall_sql(triggers: dict = TRIGGERS) -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, (table, _e, _t) in triggers.items()]
    statements += [f"DROP FUNCTION IF EXISTS {name}()" for name in triggers]
    return statements


def rebuild_sql(tz: str) -> list[str]:
    """Recompute the three tables from ServiceRequest, Rating and RequestEvent (writers wait meanwhile)."""
    month_cols = ", ".join((*MONTH_KEY, "at"))
    day_tz = _lit(tz)
    return [
        "LOCK TABLE stations_servicerequest, stations_rating, stations_requestevent IN SHARE MODE",
        "TRUNCATE stations_summarymonth, stations_summaryday, stations_summaryresolution",
        f"""
WITH {month_steps("steps", "stations_servicerequest", "stations_rating", tz)}
INSERT INTO stations_summarymonth ({month_cols}, settled_until, {", ".join(MONTH_FIGURES)})
SELECT {month_cols}, CASE WHEN at IS NULL THEN now() END, {_sums(MONTH_FIGURES)}
FROM steps GROUP BY {month_cols}
HAVING {" OR ".join(f"sum({f}) <> 0" for f in MONTH_FIGURES)}""",
        f"""
WITH received AS ({_day_received("stations_servicerequest", 1, tz)}),
firsts AS (
  SELECT e.request_id, min(e.at) AS first_at FROM stations_requestevent e WHERE {_resolved()}
  GROUP BY e.request_id, {_week("e.at", tz)}
),
resolved AS (
  SELECT r.community_id, (f.first_at AT TIME ZONE {day_tz})::date AS day,
         CASE WHEN f.first_at > now() THEN f.first_at END AS at, 0 AS received, 1 AS resolved
  FROM firsts f JOIN stations_servicerequest r ON r.id = f.request_id
)
INSERT INTO stations_summaryday (community_id, day, at, settled_until, received, resolved)
SELECT community_id, day, at, CASE WHEN at IS NULL THEN now() END, sum(received), sum(resolved)
FROM (SELECT * FROM received UNION ALL SELECT * FROM resolved) d GROUP BY community_id, day, at""",
        f"""
INSERT INTO stations_summaryresolution (event_id, request_id, community_id, actor_id, at, received_at)
SELECT e.id, e.request_id, r.community_id, e.actor_id, e.at, r.received_at
FROM stations_requestevent e JOIN stations_servicerequest r ON r.id = e.request_id WHERE {_resolved()}""",
        "ANALYZE stations_summarymonth",
        "ANALYZE stations_summaryday",
        "ANALYZE stations_summaryresolution",
    ]
