"""Demo data: the two communities of the story (安华里社区 and 华贸中心社区), their people, their social
workers, one login per role, and a few months of work at the desk.

Deterministic and re-runnable: every random choice comes from ``random.Random`` seeded from ``SEED``
(one stream per part, drawn before any database state is read, so a skipped part cannot shift the
others), and every row is written through ``update_or_create`` on its natural key. The bulk of the
registry (households and residents) is written once per community; a second run finds the
households and skips it, which keeps ``make run`` fast.

Parts: ``registry`` (places and people), ``staff`` (workers and logins), ``desk`` (categories,
requests, visits, errands and a leave), ``spaces`` (activity spaces, courses, bookings). Each part
has its own stream from ``rng_for``.
"""

from django.contrib.auth.models import User
from django.db import transaction

from residents.models import Building, CareTag, Community, Enterprise, Household, Resident, Subdistrict
from stations.demo.base import SEED, URL, Log, rng_for, silent
from stations.demo.desk import build_desk
from stations.demo.people import People
from stations.demo.registry import build_places, build_registry
from stations.demo.spaces import build_spaces
from stations.demo.staff import DEMO_LOGINS, DEMO_PASSWORD, build_logins, build_staff
from stations.models import (
    Attendance,
    Booking,
    Category,
    Course,
    Enrolment,
    Leave,
    Rating,
    RecurringErrand,
    RequestEvent,
    ServiceRequest,
    SocialWorker,
    Space,
    Station,
    Visit,
)
from stations.roles import sync_roles

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "SEED", "URL", "People", "demo_counts", "load_demo", "rng_for"]


def demo_counts() -> dict[str, int]:
    return {
        "subdistricts": Subdistrict.objects.count(),
        "communities": Community.objects.count(),
        "stations": Station.objects.count(),
        "buildings": Building.objects.count(),
        "households": Household.objects.count(),
        "residents": Resident.objects.count(),
        "tagged residents": Resident.objects.filter(care_tags__isnull=False).distinct().count(),
        "care tags": CareTag.objects.count(),
        "enterprises": Enterprise.objects.count(),
        "social workers": SocialWorker.objects.count(),
        "users": User.objects.count(),
        "categories": Category.objects.count(),
        "requests": ServiceRequest.objects.count(),
        "request events": RequestEvent.objects.count(),
        "ratings": Rating.objects.count(),
        "visits": Visit.objects.count(),
        "recurring errands": RecurringErrand.objects.count(),
        "leaves": Leave.objects.count(),
        "spaces": Space.objects.count(),
        "courses": Course.objects.count(),
        "bookings": Booking.objects.count(),
        "enrolments": Enrolment.objects.count(),
        "attendance records": Attendance.objects.count(),
    }


@transaction.atomic
def load_demo(log: Log = silent) -> dict[str, int]:
    """Build (or bring up to date) the whole demo; returns the row counts afterwards."""
    sync_roles()
    places = build_places(log)
    buildings = build_registry(rng_for("registry"), places=places, log=log)
    build_staff(rng_for("staff"), places=places, buildings=buildings, log=log)
    build_logins(places=places, log=log)
    build_desk(rng_for("desk"), places=places, log=log)
    build_spaces(rng_for("spaces"), places=places, log=log)
    return demo_counts()
