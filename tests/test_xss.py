"""Trust: stored-XSS payloads in every text field render escaped on every page and in every export.

Each text field a person can type holds PAYLOAD; every page that shows it must escape it (the raw
``<script>`` never appears, its escaped form does). The CSV and XLSX exports hold the raw text, which is
fine for a spreadsheet, but a cell beginning with = + - @ must not become a formula.
"""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from residents.choices import BuildingKind
from stations.choices import BookingKind, BookingStatus, RatingSource, Satisfaction
from stations.models import (
    Booking,
    Category,
    Course,
    OpeningHours,
    Rating,
    RequestNote,
    Space,
    Visit,
)
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from tests import factories

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
RAW = ("<script>alert(1)</script>", "<img src=x onerror")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def stored(
    settings, tmp_path, community_a, building_a, household_a, resident_user_a, resident_a, worker_a, head_a
):
    """Community A with PAYLOAD in every text field a person can type."""
    settings.MEDIA_ROOT = str(tmp_path)
    now = timezone.now()
    household_a.notes = PAYLOAD
    household_a.save(update_fields=["notes"])
    # normalize_name refuses <>": the model is written directly, as an import or the admin could.
    person = factories.ResidentFactory(
        household=household_a, name=PAYLOAD, phone="13812345678", notes=PAYLOAD
    )
    categories_seed(community=community_a)
    base = Category.objects.get(community=community_a, name="代开药")
    category = Category.objects.create(
        community=community_a, name=PAYLOAD, worker_type=base.worker_type, line=base.line
    )
    formula_category = Category.objects.create(
        community=community_a, name=FORMULA, worker_type=base.worker_type, line=base.line
    )
    office = factories.BuildingFactory(community=community_a, number="-2号楼", kind=BuildingKind.OFFICE)
    enterprise = factories.EnterpriseFactory(community=community_a, building=office, name=PAYLOAD)
    service_request, _ = service_request_create(
        actor=worker_a.user,
        community=community_a,
        category=category,
        title=PAYLOAD,
        description=PAYLOAD,
        requester=person,
        contact_name=PAYLOAD,
        contact_phone="13812345678",
        household=household_a,
        building=building_a,
        assignee=worker_a,
    )
    enterprise_request, _ = service_request_create(
        actor=worker_a.user,
        community=community_a,
        category=formula_category,
        title="@SUM(1+1)",
        requester_enterprise=enterprise,
        building=office,
        assignee=worker_a,
    )
    RequestNote.objects.create(request=service_request, author=worker_a.user, body=PAYLOAD, is_public=True)
    Rating.objects.create(
        request=service_request,
        solved=True,
        satisfaction=Satisfaction.SATISFIED,
        comment=PAYLOAD,
        source=RatingSource.CALLBACK,
        recorded_by=worker_a.user,
        at=now,
    )
    visit = Visit.objects.create(
        community=community_a,
        household=household_a,
        building=building_a,
        worker=worker_a,
        visited_at=now,
        met=PAYLOAD,
        found=PAYLOAD,
        action=PAYLOAD,
    )
    space = Space.objects.create(
        community=community_a,
        name=PAYLOAD,
        description=PAYLOAD,
        capacity=30,
        area_m2=100,
        requires_approval=True,
    )
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(0), closes=dt.time(23, 59)) for d in range(7)]
    )
    today = timezone.localtime(now).replace(hour=10, minute=0, second=0, microsecond=0)
    Booking.objects.create(
        space=space,
        starts_at=today,
        ends_at=today + dt.timedelta(hours=1),
        resident=resident_a,
        booked_by=resident_user_a,
        status=BookingStatus.CONFIRMED,
        purpose=PAYLOAD,
    )
    Booking.objects.create(
        space=space,
        starts_at=today + dt.timedelta(days=1),
        ends_at=today + dt.timedelta(days=1, hours=1),
        resident=resident_a,
        booked_by=resident_user_a,
        status=BookingStatus.PENDING,
        purpose=PAYLOAD,
    )
    course = Course.objects.create(
        community=community_a, space=space, title=PAYLOAD, description=PAYLOAD, teacher=PAYLOAD, capacity=5
    )
    Booking.objects.create(
        space=space,
        kind=BookingKind.COURSE,
        course=course,
        starts_at=today + dt.timedelta(hours=2),
        ends_at=today + dt.timedelta(hours=3),
        booked_by=worker_a.user,
        status=BookingStatus.CONFIRMED,
    )
    return {
        "person": person,
        "request": service_request,
        "enterprise_request": enterprise_request,
        "visit": visit,
        "space": space,
        "course": course,
    }


def assert_escaped(response, where, shown=1):
    """No raw payload; the escaped one at least `shown` times (once per field the page shows)."""
    assert response.status_code == 200, where
    body = response.content.decode()
    for raw in RAW:
        assert raw not in body, f"{where}: unescaped {raw!r}"
    assert body.count(ESCAPED) >= shown, (
        f"{where}: the payload is shown {body.count(ESCAPED)} times, not {shown}"
    )


def test_staff_pages_escape_the_payload(client, stored, worker_a, head_a):
    sr, person = stored["request"], stored["person"]
    pages = {
        "worker": [
            (reverse("residents:resident_list"), 1),
            (reverse("residents:resident_detail", args=[person.pk]), 3),
            (reverse("residents:household_detail", args=[person.household_id]), 2),
            (reverse("stations:request_list"), 3),
            (reverse("stations:request_list") + "?status=all", 3),
            (reverse("stations:request_detail", args=[sr.pk]), 6),
            (reverse("stations:request_receipt", args=[sr.pk]), 2),
            (reverse("stations:request_detail", args=[stored["enterprise_request"].pk]), 1),  # enterprise
            (reverse("stations:my_queue"), 2),
            (reverse("stations:resident_lookup") + f"?pick={person.pk}", 1),  # the htmx "chosen" fragment
            (reverse("stations:visit_list"), 1),
            (reverse("stations:visit_detail", args=[stored["visit"].pk]), 3),
            (reverse("stations:household_activity", args=[person.household_id]), 2),
            (reverse("stations:space_list"), 2),
            (reverse("stations:space_week", args=[stored["space"].pk]), 8),
            (reverse("stations:course_list"), 3),
            (reverse("stations:course_detail", args=[stored["course"].pk]), 6),
            (reverse("stations:approval_list"), 2),
            (reverse("stations:today_schedule"), 5),
        ],
        "head": [
            # The history pages show old → new values of the same text fields.
            (reverse("residents:resident_history", args=[person.pk]), 1),
            (reverse("residents:household_history", args=[person.household_id]), 1),
            (reverse("stations:request_history", args=[sr.pk]), 1),
            (reverse("stations:dashboard"), 4),
            (
                reverse(
                    "stations:monthly_report", args=[timezone.localdate().year, timezone.localdate().month]
                ),
                2,
            ),
        ],
    }
    for who, user in (("worker", worker_a.user), ("head", head_a)):
        client.force_login(user)
        for url, shown in pages[who]:
            assert_escaped(client.get(url), url, shown)


def test_resident_and_public_pages_escape_the_payload(client, stored, resident_user_a, resident_a):
    sr = stored["request"]
    assert_escaped(
        client.post(reverse("stations:track"), {"reference": sr.reference, "phone_tail": "5678"}), "track", 2
    )
    feed = client.get(reverse("stations:space_feed", args=[stored["space"].feed_token]))
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    # Bind the person to the resident login so the own-request pages show the request.
    stored["person"].user = resident_user_a
    resident_a.user = None
    resident_a.save(update_fields=["user"])
    stored["person"].save(update_fields=["user"])
    client.force_login(resident_user_a)
    for url, shown in (
        (reverse("stations:own_request_list"), 2),
        (reverse("stations:own_request_detail", args=[sr.token]), 4),
        (reverse("stations:space_list"), 2),
        (reverse("stations:course_list"), 3),
        (reverse("stations:course_detail", args=[stored["course"].pk]), 6),
    ):
        assert_escaped(client.get(url), url, shown)


def _no_formula(value, where):
    if isinstance(value, str):
        assert not value.startswith(("=", "+", "-", "@")), f"{where}: formula cell {value!r}"


def test_exports_hold_raw_text_and_no_formulas(client, stored, head_a):
    today = timezone.localdate()
    client.force_login(head_a)
    response = client.get(reverse("stations:monthly_report_csv", args=[today.year, today.month]))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    cells = [cell for line in csv.reader(io.StringIO(text)) for cell in line]
    assert PAYLOAD in cells
    assert "'" + FORMULA in cells
    assert "'-2号楼" in cells
    for cell in cells:
        _no_formula(cell, "csv")

    response = client.get(reverse("stations:monthly_report_xlsx", args=[today.year, today.month]))
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    values = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"xlsx {sheet.title}!{cell.coordinate} is a formula"
                _no_formula(cell.value, f"xlsx {sheet.title}!{cell.coordinate}")
                values.append(cell.value)
    assert PAYLOAD in values
    assert "'" + FORMULA in values


def test_roster_export_holds_raw_text_and_no_formulas(client, stored, head_a):
    client.force_login(head_a)
    for file_format in ("csv", "xlsx"):
        response = client.post(
            reverse("residents:resident_export"), {"file_format": file_format, "reason": "核对名单"}
        )
        assert response.status_code == 200, file_format
        if file_format == "csv":
            cells = [
                c for line in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) for c in line
            ]
        else:
            sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
            assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
            cells = [cell.value for row in sheet.iter_rows() for cell in row]
        assert any(isinstance(c, str) and PAYLOAD in c for c in cells), file_format
        for cell in cells:
            _no_formula(cell, f"roster {file_format}")
