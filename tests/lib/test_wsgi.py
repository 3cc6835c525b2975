"""community.wsgi: what a gunicorn worker loads at startup is frozen out of the garbage collector's sight."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
from community import wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "views_loaded": "stations.views.requests" in sys.modules,
    "callable": callable(wsgi.application),
}))
"""


def test_startup_objects_are_frozen_and_the_app_is_loaded():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "community.settings"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["callable"] and probe["views_loaded"]
    # Django, the URLconf, the catalogues and pypinyin: ~280,000 objects, none left for a full collection.
    assert probe["frozen"] > 100_000
    assert probe["tracked"] < 1_000
