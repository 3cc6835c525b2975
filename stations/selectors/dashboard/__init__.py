"""Reads of the dashboards and the monthly report, split by topic: figures (the three rates and
counts), tables (trend, categories, workers, spaces…) and pages (whole dashboards)."""

from stations import rates
from stations.selectors.dashboard.figures import LIVE_STATUSES, PERIOD_FIGURES, Figures, rate_tables
from stations.selectors.dashboard.pages import community_dashboard, subdistrict_dashboard
from stations.selectors.dashboard.spaces import spaces_section
from stations.selectors.dashboard.tables import (
    assignee_at,
    category_figures,
    grouped_figures,
    open_at,
    resolution_times,
)

__all__ = [
    "LIVE_STATUSES",
    "PERIOD_FIGURES",
    "Figures",
    "assignee_at",
    "category_figures",
    "community_dashboard",
    "grouped_figures",
    "open_at",
    "rate_tables",
    "rates",
    "resolution_times",
    "spaces_section",
    "subdistrict_dashboard",
]
