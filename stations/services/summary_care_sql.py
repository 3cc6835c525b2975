"""The SQL of the care summary (stations.models.summary.SummaryCare): care-tagged residents per household and
smallest visit cadence, with the household's latest visit, kept by triggers on what decides who is due a
visit — visits, care tags and their cadence, residents' households. stations.services.summary_sql installs
them with the request summary's (one trigger per table and event, one function each)."""

from __future__ import annotations

_TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}
CARE_TRIGGERS = {
    f"summary_care_{label}_{event.lower()}": (table, event, _TRANSITIONS[event])
    for label, table, events in (
        ("visit", "stations_visit", ("INSERT", "UPDATE", "DELETE")),
        ("tag", "residents_resident_care_tags", ("INSERT", "UPDATE", "DELETE")),
        ("resident", "residents_resident", ("INSERT", "UPDATE", "DELETE")),
        ("caretag", "residents_caretag", ("UPDATE", "DELETE")),  # a new tag has no residents yet
    )
    for event in events
}
CARE_COLUMNS = "community_id, household_id, cadence_days, residents, last_visit"
# The first key of the care writers' per-community advisory locks (the second is the community's id).
CARE_LOCK = "hashtext('stations_summarycare')"


def care_rows(where: str) -> str:
    """SummaryCare's rows for the residents (``r``) matching ``where``: those with a household and a care tag
    with a cadence, counted per household and smallest cadence, with the household's latest visit (one probe
    of visit_household_at_idx per household) — the set stations.selectors.visits.visits_overdue reads."""
    return f"""
SELECT t.community_id, t.household_id, t.cadence, count(*),
       (SELECT max(v.visited_at) FROM stations_visit v WHERE v.household_id = t.household_id)
FROM (
  SELECT r.community_id, r.household_id, min(ct.visit_cadence_days) AS cadence
  FROM residents_resident r
  JOIN residents_resident_care_tags rct ON rct.resident_id = r.id
  JOIN residents_caretag ct ON ct.id = rct.caretag_id AND ct.visit_cadence_days IS NOT NULL
  WHERE r.household_id IS NOT NULL AND {where}
  GROUP BY r.id
) t
GROUP BY t.community_id, t.household_id, t.cadence"""


def _care_block(households: str) -> str:
    """Recompute the SummaryCare rows of the households that ``households`` selects (one column).

    Care writes of one community follow each other: each takes a transaction-level advisory lock per
    community of the households it recomputes (in ascending order, so two writers never wait on each other
    in a circle), then reads (a new snapshot per statement) what the one before it committed. Without it, a
    visit and a care tag written at the same time for one household would each recompute the row without
    the other. A household's community is its building's and does not change,
    but a resident can move: so the households are read
    again after each round of locks, until every community they belong to is held. Writers in other
    communities (another community's import, say) do not wait."""
    return f"""
care_locked := '{{}}';
LOOP
  SELECT array_agg(DISTINCT x.h) INTO care_households FROM ({households}) x(h) WHERE x.h IS NOT NULL;
  SELECT array_agg(DISTINCT b.community_id ORDER BY b.community_id) INTO care_communities
    FROM residents_household h JOIN residents_building b ON b.id = h.building_id
    WHERE h.id = ANY(care_households) AND NOT (b.community_id = ANY(care_locked));
  EXIT WHEN care_communities IS NULL;
  PERFORM pg_advisory_xact_lock({CARE_LOCK}, c::int) FROM unnest(care_communities) c;
  care_locked := care_locked || care_communities;
END LOOP;
IF care_households IS NOT NULL THEN
  DELETE FROM stations_summarycare WHERE household_id = ANY(care_households);
  INSERT INTO stations_summarycare ({CARE_COLUMNS}) {care_rows("r.household_id = ANY(care_households)")};
END IF;"""


def care_bodies() -> dict[str, str]:
    def changed(columns: str) -> str:
        new = ", ".join(f"n.{c}" for c in columns.split())
        old = ", ".join(f"o.{c}" for c in columns.split())
        return f"new_rows n JOIN old_rows o ON o.id = n.id WHERE ({new}) IS DISTINCT FROM ({old})"

    def households_of(residents: str) -> str:
        # Read again after each round of locks (_care_block): where the residents live as last committed.
        return f"SELECT r.household_id FROM residents_resident r WHERE r.id IN ({residents})"

    def tagged(tags: str) -> str:
        return households_of(
            f"SELECT x.resident_id FROM residents_resident_care_tags x WHERE x.caretag_id IN ({tags})"
        )

    moved_visits = changed("household_id visited_at")
    moved_residents = changed("community_id household_id")
    recadenced = changed("visit_cadence_days")
    tag_rows = {
        "INSERT": "SELECT resident_id FROM new_rows",
        "UPDATE": "SELECT resident_id FROM new_rows UNION SELECT resident_id FROM old_rows",
        "DELETE": "SELECT resident_id FROM old_rows",
    }
    bodies = {
        "summary_care_visit_insert": ("new_rows", "SELECT household_id FROM new_rows"),
        "summary_care_visit_update": (
            moved_visits,
            f"SELECT n.household_id FROM {moved_visits} UNION ALL SELECT o.household_id FROM {moved_visits}",
        ),
        "summary_care_visit_delete": ("old_rows", "SELECT household_id FROM old_rows"),
        # A resident is written before their care tags (a many-to-many), so a new one rarely has any yet.
        "summary_care_resident_insert": (
            "new_rows n JOIN residents_resident_care_tags x ON x.resident_id = n.id",
            "SELECT household_id FROM new_rows",
        ),
        "summary_care_resident_update": (
            moved_residents,
            f"SELECT n.household_id FROM {moved_residents} UNION ALL SELECT o.household_id FROM {moved_residents} "
            f"UNION ALL {households_of(f'SELECT n.id FROM {moved_residents}')}",
        ),
        "summary_care_resident_delete": ("old_rows", "SELECT household_id FROM old_rows"),
        "summary_care_caretag_update": (recadenced, tagged(f"SELECT n.id FROM {recadenced}")),
        "summary_care_caretag_delete": ("old_rows", tagged("SELECT id FROM old_rows")),
    }
    for event, residents in tag_rows.items():
        rows = "old_rows" if event == "DELETE" else "new_rows"
        bodies[f"summary_care_tag_{event.lower()}"] = (rows, households_of(residents))
    return {
        name: f"IF NOT EXISTS (SELECT 1 FROM {rows}) THEN RETURN NULL; END IF;" + _care_block(households)
        for name, (rows, households) in bodies.items()
    }


def care_rebuild_sql() -> list[str]:
    """Recompute SummaryCare from the residents, their care tags and the visits (care writers wait meanwhile)."""
    return [
        "LOCK TABLE residents_resident, residents_resident_care_tags, residents_caretag, stations_visit IN SHARE MODE",
        "TRUNCATE stations_summarycare",
        f"INSERT INTO stations_summarycare ({CARE_COLUMNS}) {care_rows('true')}",
        "ANALYZE stations_summarycare",
    ]
