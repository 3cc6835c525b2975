"""Trust: every URL of the app, walked as every persona, with the outcome each one must get.

One table (ACCESS) lists every named URL pattern: how to build its kwargs from community A's objects,
the method to try, and the status each persona must get. A new URL without a row fails
``test_every_url_has_a_row``; a view whose behaviour drifts from its row fails ``test_access_matrix``.
No response may be a 5xx.

Admin URLs (``admin:*``) are left out as a group: Django's admin has its own staff check
(``admin_view``), pinned by ``test_admin_refuses_non_staff``.
"""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from residents.models import ImportBatch
from stations.choices import ExtensionStatus, Role
from stations.models import Notification, RequestEvent, RequestNote, RequestPhoto
from stations.models.spaces import Booking, BookingKind, Course, Enrolment, OpeningHours, Space
from stations.models.visits import RecurringErrand, Visit
from stations.models.requests import Category, Extension
from stations.services.categories import categories_seed
from stations.services.requests import extension_request, service_request_create
from tests import factories

PERSONAS = ("anon", "res_a", "res_b", "worker_a", "worker_b", "head_a")
EXCLUDED_NAMESPACES = {"admin"}

# Expected status per persona, shorthands for the common shapes.
LOGIN = 302  # anonymous → redirect to the login page


def staff_only(ok=200, *, res=403, other=404):
    """A staff page on one of A's objects: residents lack the permission, B's worker cannot see it."""
    return {"anon": LOGIN, "res_a": res, "res_b": res, "worker_a": ok, "worker_b": other, "head_a": ok}


def staff_list(ok=200, *, res=403):
    """A staff page without an object: each worker sees their own community."""
    return {"anon": LOGIN, "res_a": res, "res_b": res, "worker_a": ok, "worker_b": ok, "head_a": ok}


def every(status, anon=LOGIN):
    return {"anon": anon, "res_a": status, "res_b": status, "worker_a": status, "worker_b": status,
            "head_a": status}


# name → (kwargs builder, method, {persona: status}). `o` is the World of community A.
ACCESS = {}


def row(name, kwargs=None, method="GET", **expected):
    ACCESS[name] = (kwargs or (lambda o: {}), method, expected)


def _today():
    return timezone.localdate()
