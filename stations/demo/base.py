"""What every part of the demo shares: the seed, the reference date and the log callback."""

import datetime as dt
import random
from collections.abc import Callable

Log = Callable[[str], None]

SEED = 20210723
# Ages are counted at this date, so the registry does not change with the day it is loaded.
REFERENCE_DATE = dt.date(2026, 1, 1)
DISTRICT = "朝阳区"
URL = "http://127.0.0.1:8000/"


def silent(message: str) -> None:
    pass


def rng_for(part: str) -> random.Random:
    """One independent, reproducible stream per part of the demo."""
    return random.Random(f"{SEED}:{part}")
