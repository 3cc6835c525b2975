"""The production settings plus one extra URL, the baseline page, and nothing else.

The benchmark serves OneDesk with these settings so that the baseline (a bare Django view rendering a
template of a given size) runs in the same processes, middleware and database connection as the pages it
is compared with. Production never loads this module: the baseline exists only under `make bench`."""

from community.settings import *  # noqa: F403
from community.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
