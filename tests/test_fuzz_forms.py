"""Issue #7, "Bad input": every form is fed generated input — full-width digits, emoji, characters
beyond the BMP, bidi overrides, NUL and other control characters, zero-width characters, strings of up
to 10,000 characters, and well-formed phones, ID numbers and dates — and each example must end as a
valid, normalised save or as form errors: never a server error, never a half-saved record.

Two layers:

- **forms**: ``is_valid()`` never raises; a valid form hands on clean text (tests.fuzz.checks) that
  fits its column. ``FORM_CASES`` holds a strategy for every form of the project, and
  ``test_every_form_is_fuzzed`` fails when a form (or a field of one) has none;
- **views**: the main write views answer 200 with errors or 302, never 5xx; the rows they write
  change by 0 (errors) or exactly the expected number (success), and the saved text is the
  normalised input.

Each view example runs in a savepoint that is rolled back, so examples do not see each other's rows and
a shrunk example meets the same database again; the tests count row deltas around each request.

A bug found in a file this issue does not own is a **strict xfail** whose reason names the file, with a
regression example that fails every time: once the fix lands the test passes, strict xfail turns that
into a failure, and the marker is removed.

The file runs in well under a minute on SQLite. Run it on PostgreSQL too (DATABASE_URL), which refuses
NUL in text and over-long values where SQLite shrugs; FUZZ_SCALE=10 hunts with ten times the examples."""

import contextlib
import datetime as dt
import functools
import importlib
import inspect
import os
import pkgutil
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import django_filters
import pytest
from django import forms
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import RequestFactory
from django.urls import get_resolver, reverse
from django.urls import resolve as resolve_url
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from community.lib.validators import clean_text, validate_plausible_date
from residents.choices import BuildingKind, Gender, LegalBasis, Relation
from residents.forms import (
    DirectorySearchForm,
    EraseForm,
    ExportForm,
    HouseholdForm,
    ImportUploadForm,
    ResidentForm,
    RevealForm,
    VersionedForm,
)
from residents.models import Building, Community, Enterprise, Household, Resident
from residents.privacy import ERASE_REASON_MAX_LENGTH
from residents.selectors import home_address
from stations.choices import Channel, Satisfaction, StationLine, Status, Urgency, WorkerType
from stations.filters import SORT_CHOICES, ServiceRequestFilter
from stations.forms.desk import LeaveForm
from stations.forms.public import OwnRatingForm, OwnRequestForm, TrackForm
from stations.forms.requests import (
    ActionForm,
    AssignForm,
    CallbackForm,
    ExtensionDecideForm,
    ExtensionForm,
    NoteForm,
    PhotoForm,
    RequestIntakeForm,
    TransitionForm,
    UrgeForm,
)
from stations.forms.space_admin import (
    AttendanceForm,
    CheckInForm,
    CourseForm,
    CourseSessionForm,
    DecideForm,
    ScheduleFilterForm,
    SpaceBlockForm,
)
from stations.forms.spaces import BookingForm, SeriesForm
from stations.forms.visits import (
    ErrandForm,
    ProactiveFilterForm,
    RaiseRequestForm,
    RaiseRequestFormSet,
    VisitFilterForm,
    VisitForm,
)
from stations.models import (
    Booking,
    Category,
    Course,
    Leave,
    OpeningHours,
    RecurringErrand,
    ServiceRequest,
    SocialWorker,
    Space,
    Visit,
)
from stations.rates import FIGURE_CHOICES
from stations.selectors.requests import categories_for
from stations.services.categories import categories_seed
from tests import factories
from tests.fuzz.checks import check_cleaned, expected_text
from tests.fuzz.strategies import (
    Field,
    Ref,
    astral_chars,
    bool_value,
    choice_value,
    cjk_chars,
    date_value,
    datetime_value,
    form_data,
    home_value,
    id_numbers,
    integer_value,
    long_text,
    messy_text,
    optional_uuid_value,
    phones,
    pk_list,
    pk_value,
    text_value,
    uuid_value,
)

# The middle dot's look-alikes that names are written with (community.lib.validators).
MIDDLE_DOTS = str.maketrans(dict.fromkeys("\u2022\u30fb\uff65\u2027\u2219\u22c5", "\u00b7"))

# FUZZ_SCALE=10 (environment) runs ten times as many examples, for a longer hunt than the suite's.
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
FORM_EXAMPLES = int(30 * SCALE)
VIEW_EXAMPLES = int(25 * SCALE)
FUZZ = settings(
    max_examples=FORM_EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ in the checkout; a failure prints its example and seed
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
VIEW_FUZZ = settings(FUZZ, max_examples=VIEW_EXAMPLES)


# --- The world the examples act in -------------------------------------------------------------------


@pytest.fixture
def world(
    settings,
    tmp_path,
    community_a,
    community_b,
    building_a,
    building_b,
    household_a,
    household_b,
    resident_a,
    resident_b,
    worker_a,
    worker_b,
    head_a,
    resident_user_a,
):
    """Community A with everything a form can point at, and B's objects as foreign choices."""
    settings.MEDIA_ROOT = str(tmp_path)
    categories_seed(community=community_a)
    categories_seed(community=community_b)
    leaf = Category.objects.filter(community=community_a, parent__isnull=False).order_by("pk").first()
    office = factories.BuildingFactory(community=community_a, number="写字楼", kind=BuildingKind.OFFICE)
    enterprise = factories.EnterpriseFactory(community=community_a, building=office)
    colleague = factories.make_worker(
        community=community_a, worker_type=WorkerType.LIAISON, username="cover_a"
    )
    space = Space.objects.create(
        community=community_a,
        name="活动大厅",
        capacity=30,
        area_m2=200,
        weekly_quota_hours=0,
        horizon_days=30,
    )
    space_b = Space.objects.create(community=community_b, name="议事空间", capacity=10, area_m2=50)
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(space=s, weekday=d, opens=dt.time(8), closes=dt.time(21))
            for s in (space, space_b)
            for d in range(7)
        ]
    )
    course = Course.objects.create(community=community_a, space=space, title="瑜伽初级", capacity=10)
    refs = {
        "community": community_a,
        "community_b": community_b,
        "building": building_a,
        "office": office,
        "building_b": building_b,
        "household": household_a,
        "household_b": household_b,
        "resident": resident_a,
        "resident_b": resident_b,
        "enterprise": enterprise,
        "category": leaf,
        "parent_category": leaf.parent,
        "category_b": Category.objects.filter(community=community_b, parent__isnull=False).first(),
        "worker": worker_a,
        "colleague": colleague,
        "worker_b": worker_b,
        "space": space,
        "space_b": space_b,
        "care_tag": factories.CareTagFactory(),
    }
    return SimpleNamespace(
        community=community_a,
        worker=worker_a,
        head=head_a,
        resident=resident_a,
        resident_user=resident_user_a,
        space=space,
        course=course,
        refs={
            **{name: str(obj.pk) for name, obj in refs.items()},
            "home": home_address(household_a),
            "home_b": home_address(household_b),
        },
    )


def resolve(value, world):
    if isinstance(value, Ref):
        return world.refs.get(value.name, "987654321")  # an object B does not have either
    if isinstance(value, list):
        return [resolve(item, world) for item in value]
    return value


def post_data(data: dict, world) -> MultiValueDict:
    """The drawn values as request.POST would hold them."""
    resolved = {name: resolve(value, world) for name, value in data.items()}
    return MultiValueDict({name: v if isinstance(v, list) else [v] for name, v in resolved.items()})


# --- Files -------------------------------------------------------------------------------------------


def _browser_file_name(name: str) -> str:
    """A browser sends a base name, never empty (Django drops a file part without one)."""
    name = name.replace("/", "_").replace("\\", "_")
    return name if name.strip(". ") else f"x{name}.png"


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
file_names = st.one_of(
    st.sampled_from(["photo.png", "照片.PNG", "sheet.csv", "名单.xlsx", "a.exe", ".csv", "x" * 300 + ".png"]),
    st.tuples(messy_text(30), st.sampled_from(["", ".png", ".csv", ".xlsx"])).map("".join),
).map(_browser_file_name)
file_contents = st.one_of(st.just(PNG), st.binary(max_size=200), st.just("姓名,楼号\n张三,1号楼\n".encode()))
uploads = st.builds(SimpleUploadedFile, file_names, file_contents)


def file_field(many: int = 0) -> Field:
    """Files are drawn as SimpleUploadedFile objects; `many` allows lists up to that length."""
    if many:
        return Field(st.lists(uploads, max_size=many), st.lists(uploads, min_size=many, max_size=many + 2))
    return Field(uploads, st.builds(SimpleUploadedFile, file_names, st.just(b"")))


def _login_form() -> type:
    """The login page's form: whatever the URLconf gives LoginView (Django's own by default)."""
    view = resolve_url(reverse("login")).func
    return (
        view.view_initkwargs.get("authentication_form")
        or view.view_class.authentication_form
        or view.view_class.form_class
    )


LOGIN_FORM = _login_form()
ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- One case per form -------------------------------------------------------------------------------

NAMES = ("张焱", "阿依古丽·买买提", "𠮷田", "John Smith", "欧阳・娜娜", " 王芳 ")
NAME = Field(
    st.one_of(st.sampled_from(NAMES), st.text(st.one_of(cjk_chars, astral_chars), min_size=1, max_size=8)),
    text_value(64).any(),
)
PHONE = Field(st.one_of(phones(), st.just("")), st.one_of(messy_text(20), long_text(max_size=50)))
ID_NUMBER = Field(
    st.one_of(id_numbers(), st.just("")),
    st.one_of(id_numbers().map(lambda n: n[:-1] + ("0" if n[-1] != "0" else "1")), messy_text(20)),
)
TEXT = 5000  # the desk's longest free text; the columns are text, the services refuse more


@dataclass
class FormCase:
    """How to fuzz one form: its fields' strategies, how the view builds it, and where its text goes.

    `columns`: cleaned field → the max length of the column it is saved in (None: a text column);
    `identifiers`: fields normalised to ASCII (NFKC); `files`: the file fields (drawn separately);
    `build(world, data, files)` makes the bound form as its view does."""

    form: type
    fields: dict[str, Field]
    build: Callable | None = None
    columns: dict[str, int | None] = field(default_factory=dict)
    identifiers: frozenset[str] = frozenset()
    files: dict[str, Field] = field(default_factory=dict)
    id: str = ""
    known_bug: str = ""  # a bug in a file this issue does not own: the case is a strict xfail until fixed
    bug_on_postgres_only: bool = False  # ...which only PostgreSQL shows (SQLite does not enforce lengths)
    bug_raises: type[BaseException] | tuple = AssertionError  # what the bug raises: anything else fails

    def __post_init__(self):
        self.id = self.id or self.form.__name__

    def make(self, world, data, files):
        if self.build is None:
            return self.form(data=data, files=files)
        return self.build(world, data, files)


VERSION = Field(st.one_of(st.just(""), st.datetimes().map(lambda d: d.isoformat())), messy_text(40))
ACTION_VERSION = integer_value(1, 50)


FORM_CASES = [
    # --- residents -------------------------------------------------------------------------------
    FormCase(VersionedForm, {"version": VERSION}),
    FormCase(
        ResidentForm,
        {
            "version": VERSION,
            "submission_key": optional_uuid_value(),
            "name": NAME,
            "gender": choice_value(Gender.values),
            "birth_date": Field(st.one_of(date_value().valid, st.just("")), date_value().junk),
            "phone": PHONE,
            "id_number": ID_NUMBER,
            "household": home_value(),
            "relation": choice_value(Relation.values),
            "employer": pk_value("enterprise"),
            "care_tags": pk_list("care_tag"),
            "notes": text_value(None),
            "legal_basis": choice_value(LegalBasis.values),
            "consent_date": Field(st.one_of(date_value().valid, st.just("")), date_value().junk),
            "guardian_name": Field(st.sampled_from(["", *NAMES]), text_value(64).any()),
        },
        build=lambda w, data, files: ResidentForm(
            data,
            households=Household.objects.filter(building__community=w.community),
            enterprises=Enterprise.objects.filter(community=w.community),
        ),
        columns={"name": 64, "phone": 20, "id_number": 18, "notes": None, "guardian_name": 64},
        identifiers=frozenset({"phone", "id_number"}),
    ),
    FormCase(
        HouseholdForm,
        {
            "version": VERSION,
            "building": pk_value("building", "office"),
            "entrance": integer_value(1, 99),
            "room": text_value(16, "301", "３０１", "2-301", "B1-01"),
            "notes": text_value(None),
        },
        build=lambda w, data, files: HouseholdForm(
            data, buildings=Building.objects.filter(community=w.community)
        ),
        columns={"room": 16, "notes": None},
    ),
    FormCase(
        DirectorySearchForm,
        {
            "q": text_value(100, "张", "zy", "1234", "3-2-301"),
            "building": pk_value("building"),
            "tag": pk_value("care_tag"),
        },
        build=lambda w, data, files: DirectorySearchForm(
            data, buildings=Building.objects.filter(community=w.community)
        ),
    ),
    FormCase(
        DirectorySearchForm,
        {
            "q": text_value(100, "张", "zy", "1234", "3-2-301"),
            "building": pk_value("building"),
            "tag": pk_value("care_tag"),
            "community": pk_value("community"),
        },
        build=lambda w, data, files: DirectorySearchForm(
            data,
            buildings=Building.objects.filter(community=w.community),
            communities=Community.objects.filter(pk=w.community.pk),
        ),
        id="DirectorySearchForm (subdistrict staff)",
    ),
    FormCase(
        RevealForm,
        {"reason": text_value(200, "核实身份", "回访联系")},
        columns={"reason": 200},
    ),
    FormCase(
        EraseForm,
        {"reason": text_value(ERASE_REASON_MAX_LENGTH, "本人申请删除"), "confirm": bool_value()},
        columns={"reason": ERASE_REASON_MAX_LENGTH},
    ),
    FormCase(
        ExportForm,
        {
            "q": text_value(100, "张"),
            "building": pk_value("building"),
            "tag": pk_value("care_tag"),
            "file_format": choice_value(["xlsx", "csv"]),
            "unmasked": bool_value(),
            "reason": text_value(200, "季度走访名单"),
        },
        build=lambda w, data, files: ExportForm(
            data, buildings=Building.objects.filter(community=w.community), can_unmask=True
        ),
        columns={"reason": 200},
    ),
    FormCase(ImportUploadForm, {}, files={"file": file_field()}),
    FormCase(
        LOGIN_FORM,
        {
            "username": text_value(150, "worker_a", "ＷＯＲＫＥＲ_Ａ"),
            "password": text_value(None, "onedesk-test-pw"),
        },
        build=lambda w, data, files: LOGIN_FORM(_login_request(), data=data),
        id="LoginForm",
    ),
    # --- the desk's people -----------------------------------------------------------------------
    FormCase(
        LeaveForm,
        {
            "submission_key": optional_uuid_value(),
            "starts_on": date_value(),
            "ends_on": date_value(),
            "cover": pk_value("colleague"),
            "reason": text_value(200, "年假", "病假"),
        },
        build=lambda w, data, files: LeaveForm(
            data, covers=SocialWorker.objects.filter(community=w.community).exclude(pk=w.worker.pk)
        ),
        columns={"reason": 200},
    ),
    # --- residents' side -------------------------------------------------------------------------
    FormCase(
        OwnRequestForm,
        {
            "submission_key": uuid_value(),
            "category": pk_value("category"),
            "title": text_value(120, "楼道灯坏了"),
            "description": text_value(TEXT),
        },
        files={"photos": file_field(many=7)},
        build=lambda w, data, files: OwnRequestForm(data, files, categories=categories_for(w.community)),
        columns={"title": 120, "description": TEXT},
    ),
    FormCase(
        OwnRatingForm,
        {
            "version": ACTION_VERSION,
            "solved": choice_value(["yes", "no"]),
            "satisfaction": choice_value(Satisfaction.values),
            "comment": text_value(TEXT),
        },
        columns={"comment": TEXT},
    ),
    FormCase(
        TrackForm,
        {
            "reference": text_value(40, "AHL-2026-000123", "ａｈｌ-２０２６-０００１２３"),
            "phone_tail": text_value(4, "1234", "１２３４", "٣٤٥٦"),
        },
    ),
    # --- staff requests --------------------------------------------------------------------------
    FormCase(
        RequestIntakeForm,
        {
            "submission_key": uuid_value(),
            "requester": pk_value("resident"),
            "contact_name": Field(st.sampled_from(["", *NAMES]), text_value(64).any()),
            "contact_phone": PHONE,
            "requester_enterprise": pk_value("enterprise"),
            "building": pk_value("building"),
            "category": pk_value("category"),
            "title": text_value(120, "楼道灯坏了"),
            "description": text_value(TEXT),
            "channel": choice_value(Channel.values),
            "urgency": choice_value(Urgency.values),
        },
        files={"photos": file_field(many=6)},
        build=lambda w, data, files: _intake_form(w, data, files),
        columns={"contact_name": 64, "contact_phone": 20, "title": 120, "description": TEXT},
        identifiers=frozenset({"contact_phone"}),
    ),
    FormCase(ActionForm, {"version": ACTION_VERSION}),
    FormCase(
        TransitionForm,
        {"version": ACTION_VERSION, "to_status": choice_value(Status.values), "note": text_value(TEXT)},
        columns={"note": TEXT},
    ),
    FormCase(
        AssignForm,
        {"version": ACTION_VERSION, "assignee": pk_value("worker", "colleague"), "note": text_value(TEXT)},
        build=lambda w, data, files: AssignForm(
            data, workers=SocialWorker.objects.filter(community=w.community)
        ),
        columns={"note": TEXT},
    ),
    FormCase(UrgeForm, {"version": ACTION_VERSION, "note": text_value(TEXT)}, columns={"note": TEXT}),
    FormCase(
        ExtensionForm,
        {"version": ACTION_VERSION, "new_due_at": datetime_value(), "reason": text_value(300, "等待配件")},
        columns={"reason": 300},
    ),
    FormCase(
        ExtensionDecideForm,
        {
            "version": ACTION_VERSION,
            "decision": choice_value(["approve", "reject"]),
            "note": text_value(TEXT),
        },
        columns={"note": TEXT},
    ),
    FormCase(
        CallbackForm,
        {
            "version": ACTION_VERSION,
            "solved": choice_value(["yes", "no"]),
            "satisfaction": choice_value(Satisfaction.values),
            "comment": text_value(TEXT),
        },
        columns={"comment": TEXT},
    ),
    FormCase(
        NoteForm,
        {
            "body": text_value(TEXT),
            "is_public": bool_value(),
            "submission_key": optional_uuid_value(),
        },
        columns={"body": TEXT},
    ),
    FormCase(PhotoForm, {"submission_key": optional_uuid_value()}, files={"photo": file_field()}),
    # --- spaces and courses ----------------------------------------------------------------------
    FormCase(
        BookingForm,
        {
            "submission_key": uuid_value(),
            "starts_at": datetime_value(),
            "ends_at": datetime_value(),
            "purpose": text_value(200, "读书会"),
            "attendees": integer_value(1, 30),
        },
        build=lambda w, data, files: BookingForm(data, space=w.space, staff=False),
        columns={"purpose": 200},
    ),
    FormCase(
        BookingForm,
        {
            "submission_key": uuid_value(),
            "starts_at": datetime_value(),
            "ends_at": datetime_value(),
            "resident": Field(st.one_of(st.just(""), pk_value("resident").valid), pk_value("resident").junk),
            "resident_q": text_value(100, "张焱", "zy", "1234", "2-301"),
            "purpose": text_value(200, "读书会"),
            "attendees": integer_value(1, 30),
        },
        build=lambda w, data, files: BookingForm(
            data, space=w.space, staff=True, residents=Resident.objects.filter(community=w.community)
        ),
        columns={"purpose": 200},
        id="BookingForm (staff)",
    ),
    FormCase(
        SeriesForm,
        {
            "submission_key": optional_uuid_value(),
            "starts_at": datetime_value(),
            "ends_at": datetime_value(),
            "purpose": text_value(200, "读书会"),
            "attendees": integer_value(1, 30),
            "weeks": integer_value(2, 26),
        },
        build=lambda w, data, files: SeriesForm(data, space=w.space, staff=False),
        columns={"purpose": 200},
    ),
    FormCase(DecideForm, {"approve": choice_value(["1", "0"]), "next": text_value(None, "/spaces/today/")}),
    FormCase(CheckInForm, {"present": choice_value(["1", "0"]), "next": text_value(None, "/spaces/today/")}),
    FormCase(
        ScheduleFilterForm,
        {"date": date_value(), "space": pk_value("space")},
        build=lambda w, data, files: _schedule_form(w, data),
    ),
    FormCase(
        AttendanceForm,
        {"resident": pk_value("resident"), "present": choice_value(["1", "0"])},
        build=lambda w, data, files: AttendanceForm(
            data, residents=Resident.objects.filter(community=w.community)
        ),
    ),
    FormCase(
        SpaceBlockForm,
        {
            "submission_key": optional_uuid_value(),
            "starts_at": datetime_value(),
            "ends_at": datetime_value(),
            "reason": text_value(200, "地面维修"),
        },
        columns={"reason": 200},
    ),
    FormCase(
        CourseForm,
        {
            "submission_key": optional_uuid_value(),
            "title": text_value(80, "瑜伽初级"),
            "description": text_value(TEXT),
            "teacher": text_value(64, "刘老师"),
            "space": pk_value("space"),
            "capacity": integer_value(1, 1000),
            "open_to_residents": bool_value(),
            "open_to_enterprise_staff": bool_value(),
        },
        build=lambda w, data, files: CourseForm(data, spaces=Space.objects.filter(community=w.community)),
        columns={"title": 80, "description": TEXT, "teacher": 64},
    ),
    FormCase(
        CourseSessionForm,
        {
            "submission_key": optional_uuid_value(),
            "starts_at": datetime_value(),
            "ends_at": datetime_value(),
            "weeks": integer_value(1, 26),
        },
    ),
    # --- walking service -------------------------------------------------------------------------
    FormCase(
        VisitForm,
        {
            "submission_key": uuid_value(),
            "household": pk_value("household"),
            "visited_at": datetime_value(),
            "met": text_value(200, "张焱和女儿"),
            "found": text_value(TEXT),
            "action": text_value(TEXT),
        },
        build=lambda w, data, files: VisitForm(
            data, households=Household.objects.filter(building__community=w.community)
        ),
        columns={"met": 200, "found": TEXT, "action": TEXT},
    ),
    FormCase(
        RaiseRequestForm,
        {
            "category": pk_value("category"),
            "title": text_value(120, "楼道灯坏了"),
            "description": text_value(TEXT),
            "urgency": choice_value(Urgency.values),
        },
        build=lambda w, data, files: RaiseRequestForm(data, categories=categories_for(w.community)),
        columns={"title": 120, "description": TEXT},
    ),
    FormCase(
        VisitFilterForm,
        {
            "worker": Field(st.sampled_from(["", "all", Ref("worker")]), pk_value("worker_b").junk),
            "household": pk_value("household"),
        },
        build=lambda w, data, files: VisitFilterForm(
            data, workers=SocialWorker.objects.filter(community=w.community), me=w.worker
        ),
    ),
    FormCase(
        VisitFilterForm,
        {
            "worker": Field(st.sampled_from(["", "all", Ref("worker")]), pk_value("worker_b").junk),
            "household": pk_value("household"),
            "community": pk_value("community"),
        },
        build=lambda w, data, files: VisitFilterForm(
            data,
            workers=SocialWorker.objects.filter(community=w.community),
            communities=Community.objects.filter(pk=w.community.pk),
        ),
        id="VisitFilterForm (subdistrict staff)",
    ),
    FormCase(
        ProactiveFilterForm,
        {"view": choice_value(["care", "hotspots"]), "mine": bool_value(), "min": integer_value(2, 20)},
    ),
    FormCase(
        ProactiveFilterForm,
        {
            "view": choice_value(["care", "hotspots"]),
            "mine": bool_value(),
            "min": integer_value(2, 20),
            "community": pk_value("community"),
        },
        build=lambda w, data, files: ProactiveFilterForm(
            data, communities=Community.objects.filter(pk=w.community.pk)
        ),
        id="ProactiveFilterForm (subdistrict staff)",
    ),
    FormCase(
        ErrandForm,
        {
            "submission_key": optional_uuid_value(),
            "resident": pk_value("resident"),
            "category": pk_value("category"),
            "title": text_value(120, "代开降压药"),
            "every_days": integer_value(1, 365),
            "first_due_on": date_value(),
            "assignee": pk_value("worker"),
            "description": text_value(TEXT),
        },
        build=lambda w, data, files: ErrandForm(
            data,
            residents=Resident.objects.filter(community=w.community),
            categories=categories_for(w.community),
            workers=SocialWorker.objects.filter(community=w.community),
        ),
        columns={"title": 120, "description": TEXT},
    ),
]


def _login_request():
    request = RequestFactory().post(reverse("login"))
    request.session = {}
    return request


def _intake_form(world, data, files):
    return RequestIntakeForm(
        data,
        files,
        residents=Resident.objects.filter(community=world.community),
        enterprises=Enterprise.objects.filter(community=world.community),
        buildings=Building.objects.filter(community=world.community),
        categories=categories_for(world.community),
    )


def _schedule_form(world, data):
    form = ScheduleFilterForm(data, spaces=Space.objects.filter(community=world.community))
    form.day()  # what the schedule page reads: a date, whatever was typed
    return form


# Forms fuzzed by their own tests below, not through FORM_CASES.
FUZZED_ELSEWHERE = {
    RaiseRequestFormSet: "test_raise_request_formset",
    ServiceRequestFilter: "test_request_list_filters",
}


# --- The house rule itself ----------------------------------------------------------------------------


@settings(FUZZ, max_examples=300)
@given(text=st.one_of(messy_text(200), long_text(max_size=2000)), multiline=st.booleans())
@example(text="e\x01\u0301", multiline=True)  # removing the control character lets NFC compose é
@example(text="a\r\nb\u2028c\x85d", multiline=True)
def test_clean_text_is_the_house_rule(text, multiline):
    cleaned = clean_text(text, multiline=multiline)
    assert cleaned == expected_text(text, multiline=multiline)
    assert clean_text(cleaned, multiline=multiline) == cleaned  # idempotent
    assert clean_text(cleaned) == cleaned  # the services clean again (multi-line): nothing changes


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (dt.date(1900, 1, 1), True),
        (dt.date(2100, 12, 31), True),
        (dt.date(1899, 12, 31), False),
        (dt.date(2101, 1, 1), False),
        (dt.datetime(1, 1, 1, tzinfo=dt.UTC), False),
        (dt.datetime(9999, 12, 31, 23, 59), False),
    ],
)
def test_plausible_dates(value, ok):
    if ok:
        validate_plausible_date(value)
    else:
        with pytest.raises(ValidationError):
            validate_plausible_date(value)


# --- Every form has a strategy -----------------------------------------------------------------------


def _project_modules():
    for package in ("community", "residents", "stations"):
        root = importlib.import_module(package)
        yield root
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            yield importlib.import_module(info.name)


DJANGO_FORMSETS = {
    obj
    for module in (forms, forms.formsets, forms.models)
    for obj in vars(module).values()
    if isinstance(obj, type)
}


def project_forms() -> set[type]:
    """Every form, formset and filter set defined in the project's modules, and the forms of the
    class-based views in the URLconf (the login form)."""
    found: set[type] = set()
    for module in _project_modules():
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            defined_here = obj.__module__ == module.__name__
            if issubclass(obj, django_filters.FilterSet) and obj._meta.model is None:
                continue  # a base for filter sets (community.lib.filtersets), nothing to fill in
            if issubclass(obj, forms.BaseForm | django_filters.FilterSet) and defined_here:
                found.add(obj)
            elif issubclass(obj, forms.BaseFormSet) and obj not in DJANGO_FORMSETS:
                found.add(obj)  # formset_factory() makes its class in django.forms.formsets

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                if pattern.app_name != "admin":  # the admin builds its forms from the models
                    yield from walk(pattern.url_patterns)
                continue
            view_class = getattr(pattern.callback, "view_class", None)
            initkwargs = getattr(pattern.callback, "view_initkwargs", {})
            for attribute in ("authentication_form", "form_class"):  # LoginView prefers the first
                form_class = initkwargs.get(attribute) or getattr(view_class, attribute, None)
                if form_class is not None:
                    yield form_class
                    break

    found.update(walk(get_resolver().url_patterns))
    return found


def test_every_form_is_fuzzed(world):
    """A new form, or a new field of a form, without a fuzz strategy fails here: add it to FORM_CASES."""
    cases = {case.form for case in FORM_CASES} | set(FUZZED_ELSEWHERE)
    missing = sorted(form.__name__ for form in project_forms() - cases)
    assert not missing, f"forms without a fuzz strategy: {missing}"
    for case in FORM_CASES:
        form = case.make(world, None, None)
        unfuzzed = set(form.fields) - set(case.fields) - set(case.files)
        assert not unfuzzed, f"{case.id}: fields without a strategy: {sorted(unfuzzed)}"
        for name in case.columns:
            assert name in form.fields, f"{case.id}: columns names an unknown field {name}"


# --- Form level --------------------------------------------------------------------------------------


def known_bug_marks(case: FormCase) -> list:
    if not case.known_bug or (case.bug_on_postgres_only and not ON_POSTGRES):
        return []
    return [pytest.mark.xfail(strict=True, raises=case.bug_raises, reason=case.known_bug)]


def _case_param(case: FormCase):
    return pytest.param(case, id=case.id, marks=known_bug_marks(case))


def check_form(case: FormCase, world, data: dict, files: dict) -> forms.BaseForm:
    form = case.make(
        world,
        post_data(data, world),
        MultiValueDict({name: v if isinstance(v, list) else [v] for name, v in files.items()}),
    )
    if form.is_valid():
        check_cleaned(form, case.columns, case.identifiers)
    else:
        assert form.errors
    return form


@pytest.mark.parametrize("case", [_case_param(case) for case in FORM_CASES])
def test_form_never_raises_and_cleans_what_it_accepts(case, world):
    for data in regressions_of(case):  # first the inputs that broke this form once
        check_form(case, world, data, {})

    @FUZZ
    @given(draw=st.data())
    def fuzz(draw):
        data = draw.draw(form_data(case.fields), label="data")
        files = draw.draw(form_data(case.files), label="files")
        for upload in [f for v in files.values() for f in (v if isinstance(v, list) else [v])]:
            upload.seek(0)
        check_form(case, world, data, files)

    fuzz()


# Inputs that broke a form once. Each stays here so the bug cannot come back.
REGRESSIONS = [
    # id, case id, data
    (
        "zero-width title",
        "OwnRequestForm",
        {"category": Ref("category"), "title": "\u200b\u202e", "submission_key": str(uuid.UUID(int=1))},
    ),
    (
        "control characters in a title",
        "RequestIntakeForm",
        {
            "submission_key": str(uuid.UUID(int=2)),
            "requester": Ref("resident"),
            "category": Ref("category"),
            "title": "灯\x1b[31m坏了\x07",
            "channel": "walk_in",
            "urgency": "normal",
        },
    ),
    (
        "NFC lengthens a title past its column",
        "RaiseRequestForm",
        {"category": Ref("category"), "title": "\u0344" * 120, "urgency": "normal"},
    ),
    (
        "newline in a one-line reason",
        "SpaceBlockForm",
        {"starts_at": "2030-01-01T09:00", "ends_at": "2030-01-01T10:00", "reason": "地面\r\n维修"},
    ),
    (
        "empty course title after cleaning",
        "CourseForm",
        {"title": "\u2066\u2069", "space": Ref("space"), "capacity": "5"},
    ),
    (
        "uncleaned extension reason",
        "ExtensionForm",
        {"new_due_at": "2030-01-01T09:00", "reason": "\x01原因\u202e"},
    ),
    ("uncleaned transition note", "TransitionForm", {"to_status": "accepted", "note": "好\u202e"}),
    (
        "year 1 visit overflows UTC",
        "VisitForm",
        {
            "submission_key": str(uuid.UUID(int=3)),
            "household": Ref("household"),
            "visited_at": "0001-01-01T00:00",
        },
    ),
    ("year 9999 leave", "LeaveForm", {"starts_on": "9999-12-31", "ends_on": "9999-12-31"}),
    (
        "year 9999 errand",
        "ErrandForm",
        {
            "resident": Ref("resident"),
            "category": Ref("category"),
            "title": "代开药",
            "every_days": "365",
            "first_due_on": "9999-12-31",
        },
    ),
    ("year 1 schedule day", "ScheduleFilterForm", {"date": "0001-01-01"}),
    # residents/forms.py:
    (
        "control characters in resident notes",
        "ResidentForm",
        {
            "name": "张三",
            "gender": "unknown",
            "relation": "other",
            "legal_basis": "statutory",
            "notes": "\x1b[2J备注",
        },
    ),
    ("invisible room", "HouseholdForm", {"building": Ref("building"), "entrance": "1", "room": "\u200b301"}),
    ("zero-width reveal reason", "RevealForm", {"reason": "\u200b\u200b"}),
    ("zero-width erase reason", "EraseForm", {"reason": "\u200b\u200b", "confirm": "on"}),
    ("zero-width export reason", "ExportForm", {"file_format": "csv", "reason": "\u200b\u200b"}),
    # community/urls.py (PostgreSQL: axes logs the username in a 255-character column):
    ("username longer than axes' column", "LoginForm", {"username": "u" * 300, "password": "x"}),
]


def regressions_of(case: FormCase) -> list[dict]:
    return [data for _name, case_id, data in REGRESSIONS if case_id == case.id]


@pytest.mark.parametrize(
    ("case", "data"),
    [
        pytest.param(case, data, id=name, marks=known_bug_marks(case))
        for name, case_id, data in REGRESSIONS
        for case in FORM_CASES
        if case.id == case_id
    ],
)
def test_form_regressions(case, world, data):
    check_form(case, world, data, {})


# --- Formsets and filter sets ------------------------------------------------------------------------

RAISE_ROW = {
    # A parent category with children is a group of the select, not a choice.
    "category": Field(
        pk_value("category").valid, st.one_of(pk_value("category").junk, st.just(Ref("parent_category")))
    ),
    "title": text_value(120, "楼道灯坏了"),
    "description": text_value(TEXT),
    "urgency": choice_value(Urgency.values),
}


@st.composite
def raise_rows(draw, prefix: str = "raise") -> dict:
    """The visit form's "raise requests" rows with their management form (counts may be junk too)."""
    rows = draw(st.sampled_from([0, 1, 1, 2, 3, 4]))
    data = {
        f"{prefix}-TOTAL_FORMS": draw(st.sampled_from([str(rows)] * 4 + ["", "x", "-1", "1000", "²"])),
        f"{prefix}-INITIAL_FORMS": draw(st.sampled_from(["0", "0", "1", "", "x"])),
    }
    for index in range(rows):
        row = draw(form_data(RAISE_ROW))
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def test_raise_request_formset(world):
    @FUZZ
    @given(data=raise_rows())
    def fuzz(data):
        formset = RaiseRequestFormSet(
            post_data(data, world),
            prefix="raise",
            form_kwargs={"categories": categories_for(world.community)},
        )
        if formset.is_valid():
            for form in formset:
                check_cleaned(form, {"title": 120, "description": TEXT}, frozenset())
                form.as_spec()
        else:
            assert formset.errors or formset.non_form_errors()

    fuzz()


FILTER_FIELDS = {
    "q": text_value(100, "AHL", "灯", "张焱"),
    "status": Field(
        st.lists(st.sampled_from(Status.values), max_size=3), st.lists(messy_text(10), max_size=3)
    ),
    "line": choice_value(StationLine.values),
    "category": pk_value("category", "parent_category"),
    "building": pk_value("building"),
    "assignee": Field(st.sampled_from([Ref("worker"), "null"]), pk_value("worker").junk),
    "channel": choice_value(Channel.values),
    "overdue": choice_value(["", "true", "false"]),
    "received_from": date_value(),
    "received_to": date_value(),
    "responded": choice_value(["true", "false"]),
    "solved": choice_value(["true", "false"]),
    "satisfaction": Field(
        st.lists(st.sampled_from(Satisfaction.values), max_size=2), st.lists(messy_text(10), max_size=2)
    ),
    "rated": choice_value(["true", "false"]),
    "received_after": Field(
        st.one_of(
            date_value().valid,
            st.datetimes(dt.datetime(1900, 1, 2), dt.datetime(2100, 12, 30), timezones=st.just(dt.UTC)).map(
                dt.datetime.isoformat
            ),
        ),
        st.one_of(date_value().junk, datetime_value().junk),
    ),
    "received_before": Field(
        st.one_of(date_value().valid, datetime_value().valid),
        st.one_of(date_value().junk, datetime_value().junk),
    ),
    "rate": choice_value([key for key, _label in FIGURE_CHOICES]),
    "period": Field(
        st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(2000, 2999), st.integers(1, 12)),
        st.one_of(
            st.sampled_from(["2026-13", "1999-12", "0000-00", "٢٠٢٦-٠٣", "2026-3", "2026-03\n"]),
            messy_text(8),
        ),
    ),
    "worker_type": choice_value(WorkerType.values),
    "community": pk_value("community"),
    "sort": choice_value([key for key, _label in SORT_CHOICES]),
    "page": integer_value(1, 3),
}
# The filter set reads every field above; "page" is the list's paginator.
FILTER_REGRESSIONS = [
    {"rate": "received", "period": "2999-12"},  # the month after December 2999 is out of Period's range
    {"received_to": "9999-12-31"},  # the day after 9999-12-31 overflows
    {"received_before": "9999-12-31"},
    {"received_after": "0001-01-01T00:00"},  # Beijing midnight of year 1 is in year 0 in UTC
]


def test_request_list_filters(world, as_user):
    """The request list's filters: the filter set and the page never fail, whatever the query string."""
    missing = set(ServiceRequestFilter.base_filters) - set(FILTER_FIELDS)
    assert not missing, f"filters without a strategy: {sorted(missing)}"
    client = as_user(world.head)
    url = reverse("stations:request_list")

    def check(data):
        response = client.get(url, post_data(data, world))
        assert response.status_code == 200

    for data in FILTER_REGRESSIONS:
        check(data)

    @VIEW_FUZZ
    @given(data=form_data(FILTER_FIELDS))
    def fuzz(data):
        check(data)

    fuzz()


# --- View level --------------------------------------------------------------------------------------


def case_fields(case_id: str, **overrides: Field) -> dict[str, Field]:
    case = next(case for case in FORM_CASES if case.id == case_id)
    return {**case.fields, **overrides}


def payload(data: dict, world, files: dict | None = None) -> dict:
    """What the test client posts: pks resolved, lists kept, files reset to their start."""
    body = {name: resolve(value, world) for name, value in data.items()}
    for name, value in (files or {}).items():
        for upload in value if isinstance(value, list) else [value]:
            upload.seek(0)
        body[name] = value
    return body


@contextlib.contextmanager
def one_example():
    """Each example in a savepoint that is rolled back: examples do not see each other's rows, so a
    replayed (shrunk) example meets the same database as the first time."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def in_savepoint(test):
    @functools.wraps(test)
    def run(*args, **kwargs):
        with one_example():
            return test(*args, **kwargs)

    return run


SLOT_START, SLOT_END = Ref("slot start"), Ref("slot end")


def slot_fields() -> dict[str, Field]:
    """starts_at and ends_at: valid ones are a drawn slot's (see with_slot), junk ones anything."""
    return {
        "starts_at": Field(st.just(SLOT_START), datetime_value().any()),
        "ends_at": Field(st.just(SLOT_END), datetime_value().any()),
    }


def with_slot(data: dict, slot: tuple[str, str]) -> dict:
    return {
        name: slot[0] if value == SLOT_START else slot[1] if value == SLOT_END else value
        for name, value in data.items()
    }


def counts(*models) -> dict:
    return {model.__name__: model.objects.count() for model in models}


def deltas(before: dict, *models) -> dict:
    after = counts(*models)
    return {name: after[name] - before[name] for name in before}


def flash_levels(response) -> set[str]:
    """The levels of the messages this request added (earlier, unshown ones stay in the session)."""
    from django.contrib.messages import get_messages

    return {message.level_tag for message in get_messages(response.wsgi_request)._queued_messages}


def assert_answered(response, *allowed: int) -> None:
    # A view error propagates from the test client as the exception itself; a 5xx page must not either.
    if currently_in_test_context():
        event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics: how many examples saved
    assert response.status_code in (allowed or (200, 302)), response.status_code


def phone_digits(raw: str) -> str:
    """The digits a typed phone number stands for (NFKC; the +86 or 0086 prefix dropped)."""
    text = unicodedata.normalize("NFKC", raw).strip()
    digits = "".join(ch for ch in text if ch in "0123456789")
    if text.startswith("+86"):
        return digits[2:]
    if text.startswith("0086"):
        return digits[4:]
    return digits


def assert_text(saved: str, raw: str | None, *, multiline: bool, limit: int | None = None) -> None:
    expected = expected_text(raw or "", multiline=multiline)
    assert saved == expected, f"saved {saved!r}, expected {expected!r} for {raw!r}"
    assert limit is None or len(saved) <= limit


def future_slots() -> st.SearchStrategy[tuple[str, str]]:
    """Start and end of a booking on the space's 30-minute grid in the coming days (open 8–21)."""

    def build(days, half_hours, length):
        day = timezone.localdate() + dt.timedelta(days=days)
        start = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=30 * half_hours)
        end = start + dt.timedelta(minutes=30 * length)
        return start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")

    return st.builds(build, st.integers(1, 20), st.integers(0, 24), st.integers(1, 8))


def test_resident_create_view(world, as_user):
    client = as_user(world.worker.user)
    url = reverse("residents:resident_create")
    # Consistent well-formed values: a birth date beside an ID number, or consent without its date, are
    # refused (rightly) and would leave few examples that save.
    fields = case_fields(
        "ResidentForm",
        birth_date=Field(st.just(""), date_value().any()),
        legal_basis=Field(st.just("statutory"), choice_value(LegalBasis.values).any()),
    )
    fields.pop("version")

    @VIEW_FUZZ
    @given(data=form_data(fields))
    @example(data={"name": "\u202e张三", "gender": "male", "relation": "other", "legal_basis": "statutory"})
    @example(
        data={
            "name": "张三",
            "gender": "male",
            "relation": "other",
            "legal_basis": "statutory",
            "care_tags": ["9" * 25],
        }
    )
    @example(
        data={
            "name": "张三",
            "gender": "male",
            "relation": "other",
            "legal_basis": "statutory",
            "notes": "\x00\x1b备注\r\n第二行\u2028",
        }
    )
    @in_savepoint
    def fuzz(data):
        before = counts(Resident, Resident.history.model)
        response = client.post(url, payload(data, world))
        assert_answered(response)
        changed = deltas(before, Resident, Resident.history.model)
        if response.status_code != 302:
            assert changed == {"Resident": 0, "HistoricalResident": 0}
            return
        assert changed["Resident"] == 1
        resident = Resident.objects.latest("pk")
        assert resident.name == unicodedata.normalize("NFC", data["name"]).strip().translate(MIDDLE_DOTS)
        assert_text(resident.notes, data.get("notes"), multiline=True)
        if (data.get("phone") or "").strip():
            assert resident.phone.replace("-", "") == phone_digits(data["phone"])
        if (data.get("id_number") or "").strip():
            expected = unicodedata.normalize("NFKC", data["id_number"]).strip().replace(" ", "").upper()
            assert resident.id_number == expected

    fuzz()


def test_household_create_view(world, as_user):
    client = as_user(world.worker.user)
    url = reverse("residents:household_create")
    fields = case_fields("HouseholdForm")
    fields.pop("version")

    @VIEW_FUZZ
    @given(data=form_data(fields))
    @example(
        data={"building": Ref("building"), "entrance": "1", "room": "\ufdfa" * 16}
    )  # NFKC: 288 characters
    @example(data={"building": Ref("building"), "entrance": "1", "room": "3\r\n01"})  # a room on two lines
    @in_savepoint
    def fuzz(data):
        before = counts(Household)
        response = client.post(url, payload(data, world))
        assert_answered(response)
        changed = deltas(before, Household)
        assert changed == {"Household": 1 if response.status_code == 302 else 0}
        if response.status_code == 302:
            household = Household.objects.latest("pk")
            room = unicodedata.normalize("NFKC", expected_text(data["room"], multiline=False))
            assert household.room == room.replace(" ", "").upper()
            assert len(household.room) <= 16
            assert_text(household.notes, data.get("notes"), multiline=True)

    fuzz()


def _request_created(response, before, key_existed: bool) -> ServiceRequest | None:
    changed = deltas(before, ServiceRequest)
    if response.status_code != 302 or key_existed:
        assert changed == {"ServiceRequest": 0}
        return None
    assert changed == {"ServiceRequest": 1}
    return ServiceRequest.objects.latest("pk")


def test_request_intake_view(world, as_user):
    client = as_user(world.worker.user)
    url = reverse("stations:request_create")
    fields = case_fields("RequestIntakeForm")

    @VIEW_FUZZ
    @given(data=form_data(fields), photos=st.one_of(st.just([]), st.lists(uploads, max_size=2)))
    @example(
        data={
            "submission_key": str(uuid.UUID(int=11)),
            "requester": Ref("resident"),
            "category": Ref("category"),
            "title": "灯\x1b[31m坏了\x07",
            "description": "\x00说明\u202e",
            "channel": "walk_in",
            "urgency": "normal",
        },
        photos=[],
    )
    @in_savepoint
    def fuzz(data, photos):
        key = data.get("submission_key", "")
        existed = ServiceRequest.objects.filter(submission_key=_uuid_or_none(key)).exists()
        before = counts(ServiceRequest)
        response = client.post(url, payload(data, world, {"photos": photos} if photos else None))
        assert_answered(response)
        created = _request_created(response, before, existed)
        if created is not None:
            assert_text(created.title, data["title"], multiline=False, limit=120)
            assert_text(created.description, data.get("description"), multiline=True)
            if (data.get("contact_phone") or "").strip():
                assert created.contact_phone.replace("-", "") == phone_digits(data["contact_phone"])

    fuzz()


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


def test_own_request_view(world, as_user):
    client = as_user(world.resident_user)
    url = reverse("stations:own_request_create")
    fields = case_fields("OwnRequestForm")

    @VIEW_FUZZ
    @given(data=form_data(fields))
    @example(
        data={"submission_key": str(uuid.UUID(int=12)), "category": Ref("category"), "title": "\u0344" * 120}
    )
    @in_savepoint
    def fuzz(data):
        existed = ServiceRequest.objects.filter(
            submission_key=_uuid_or_none(data.get("submission_key"))
        ).exists()
        before = counts(ServiceRequest)
        response = client.post(url, payload(data, world))
        assert_answered(response)
        created = _request_created(response, before, existed)
        if created is not None:
            assert created.requester_id == world.resident.pk
            assert_text(created.title, data["title"], multiline=False, limit=120)
            assert_text(created.description, data.get("description"), multiline=True)

    fuzz()


def test_visit_record_view(world, as_user):
    client = as_user(world.worker.user)
    url = reverse("stations:visit_create")
    now = timezone.localtime()
    fields = case_fields(
        "VisitForm",
        visited_at=datetime_value(
            st.datetimes(
                min_value=(now - dt.timedelta(days=30)).replace(tzinfo=None),
                max_value=now.replace(tzinfo=None),
            )
        ),
    )

    @VIEW_FUZZ
    @given(data=form_data(fields), rows=raise_rows())
    @example(
        data={
            "submission_key": str(uuid.UUID(int=13)),
            "household": Ref("household"),
            "visited_at": "0001-01-01T00:00",
        },
        rows={},
    )
    @in_savepoint
    def fuzz(data, rows):
        existed = Visit.objects.filter(submission_key=_uuid_or_none(data.get("submission_key"))).exists()
        before = counts(Visit, ServiceRequest)
        response = client.post(url, payload({**data, **rows}, world))
        assert_answered(response)
        changed = deltas(before, Visit, ServiceRequest)
        if response.status_code != 302 or existed:
            assert changed == {"Visit": 0, "ServiceRequest": 0}
            return
        titled = [
            i
            for i in range(int(rows.get("raise-TOTAL_FORMS", 0)))
            if expected_text(rows.get(f"raise-{i}-title", ""), multiline=False)
        ]
        assert changed == {"Visit": 1, "ServiceRequest": len(titled)}
        visit = Visit.objects.latest("pk")
        assert_text(visit.met, data.get("met"), multiline=False, limit=200)
        assert_text(visit.found, data.get("found"), multiline=True)
        assert_text(visit.action, data.get("action"), multiline=True)

    fuzz()


def test_booking_create_view(world, as_user):
    client = as_user(world.resident_user)
    url = reverse("stations:booking_create", args=[world.space.pk])
    fields = case_fields("BookingForm", **slot_fields())

    @settings(VIEW_FUZZ, report_multiple_bugs=False)  # one exception, for the xfail's raises=
    @given(data=form_data(fields), slot=future_slots())
    @example(
        data={
            "submission_key": str(uuid.UUID(int=14)),
            "starts_at": "9999-12-31T23:30",
            "ends_at": "9999-12-31T23:59",
            "attendees": "1",
        },
        slot=("", ""),
    )
    @example(
        data={
            "submission_key": str(uuid.UUID(int=15)),
            "starts_at": "0001-01-01T08:00",
            "ends_at": "0001-01-01T09:00",
            "attendees": "1",
        },
        slot=("", ""),
    )
    @in_savepoint
    def fuzz(data, slot):
        data = with_slot(data, slot)
        existed = Booking.objects.filter(submission_key=_uuid_or_none(data.get("submission_key"))).exists()
        before = counts(Booking)
        response = client.post(url, payload(data, world))
        assert_answered(response, 200, 302, 409)
        changed = deltas(before, Booking)
        if response.status_code != 302 or existed:
            assert changed == {"Booking": 0}
            return
        assert changed == {"Booking": 1}
        booking = Booking.objects.latest("pk")
        assert booking.resident_id == world.resident.pk
        assert_text(booking.purpose, data.get("purpose"), multiline=False, limit=200)

    fuzz()


def test_course_create_view(world, as_user):
    client = as_user(world.head)
    url = reverse("stations:course_create")

    @VIEW_FUZZ
    @given(data=form_data(case_fields("CourseForm", capacity=integer_value(1, 30))))
    @example(data={"title": "瑜伽", "space": Ref("space"), "capacity": "5", "description": "字" * 10_000})
    @in_savepoint
    def fuzz(data):
        before = counts(Course)
        response = client.post(url, payload(data, world))
        assert_answered(response)
        assert deltas(before, Course) == {"Course": 1 if response.status_code == 302 else 0}
        if response.status_code == 302:
            course = Course.objects.latest("pk")
            assert_text(course.title, data["title"], multiline=False, limit=80)
            assert_text(course.teacher, data.get("teacher"), multiline=False, limit=64)
            assert_text(course.description, data.get("description"), multiline=True, limit=TEXT)

    fuzz()


def test_space_block_view(world, as_user):
    client = as_user(world.worker.user)
    url = reverse("stations:space_block", args=[world.space.pk])
    fields = case_fields("SpaceBlockForm", **slot_fields())

    @VIEW_FUZZ
    @given(data=form_data(fields), slot=future_slots())
    @example(
        data={"starts_at": "0001-01-01T00:00", "ends_at": "0001-01-01T01:00", "reason": "维修"}, slot=("", "")
    )
    @example(
        data={"starts_at": "9999-12-31T22:00", "ends_at": "9999-12-31T23:59", "reason": "维修"}, slot=("", "")
    )
    @in_savepoint
    def fuzz(data, slot):
        data = with_slot(data, slot)
        before = counts(Booking)
        response = client.post(url, payload(data, world))
        assert_answered(response)
        assert deltas(before, Booking) == {"Booking": 1 if response.status_code == 302 else 0}
        if response.status_code == 302:
            block = Booking.objects.latest("pk")
            assert_text(block.purpose, data["reason"], multiline=False, limit=200)

    fuzz()


def test_errand_create_view(world, as_user):
    client = as_user(world.worker.user)
    url = reverse("stations:errand_create")
    today = timezone.localdate()
    fields = case_fields(
        "ErrandForm",
        first_due_on=date_value(st.dates(min_value=today, max_value=today + dt.timedelta(days=400))),
    )

    @VIEW_FUZZ
    @given(data=form_data(fields))
    @example(
        data={
            "resident": Ref("resident"),
            "category": Ref("category"),
            "title": "代开药",
            "every_days": "365",
            "first_due_on": "9999-12-31",
        }
    )
    @in_savepoint
    def fuzz(data):
        before = counts(RecurringErrand, ServiceRequest)
        response = client.post(url, payload(data, world))
        assert_answered(response)
        changed = deltas(before, RecurringErrand, ServiceRequest)
        assert changed["RecurringErrand"] == (1 if response.status_code == 302 else 0)
        if response.status_code == 302:
            errand = RecurringErrand.objects.latest("pk")
            assert_text(errand.title, data["title"], multiline=False, limit=120)
            assert_text(errand.description, data.get("description"), multiline=True, limit=TEXT)
        else:
            assert changed["ServiceRequest"] == 0

    fuzz()


def test_leave_create_view(world, as_user):
    client = as_user(world.head)
    url = reverse("stations:leave_create", args=[world.worker.pk])
    today = timezone.localdate()
    near = date_value(
        st.dates(min_value=today - dt.timedelta(days=30), max_value=today + dt.timedelta(days=400))
    )
    fields = case_fields("LeaveForm", starts_on=near, ends_on=near)

    @VIEW_FUZZ
    @given(data=form_data(fields))
    @example(data={"starts_on": "9999-12-31", "ends_on": "9999-12-31", "reason": "年假"})
    @example(data={"starts_on": "0001-01-01", "ends_on": "0001-01-02"})
    @in_savepoint
    def fuzz(data):
        before = counts(Leave)
        response = client.post(url, payload(data, world))
        assert_answered(response)
        assert deltas(before, Leave) == {"Leave": 1 if response.status_code == 302 else 0}
        if response.status_code == 302:
            assert_text(Leave.objects.latest("pk").reason, data.get("reason"), multiline=False, limit=200)

    fuzz()


def test_note_view(world, as_user):
    """An action of the request page (it redirects either way; the message says which)."""
    from stations.models import RequestNote
    from stations.services.requests import service_request_create

    service_request, _ = service_request_create(
        actor=world.worker.user,
        community=world.community,
        category=Category.objects.get(pk=world.refs["category"]),
        title="楼道灯坏了",
        requester=world.resident,
    )
    client = as_user(world.worker.user)
    url = reverse("stations:note_create", args=[service_request.pk])

    @VIEW_FUZZ
    @given(data=form_data(case_fields("NoteForm")))
    @example(data={"body": "\u200b\u202e"})
    @in_savepoint
    def fuzz(data):
        before = counts(RequestNote)
        response = client.post(url, payload(data, world))
        assert_answered(response, 302)
        saved = "success" in flash_levels(response)
        assert deltas(before, RequestNote) == {"RequestNote": 1 if saved else 0}
        if saved:
            assert_text(RequestNote.objects.latest("pk").body, data["body"], multiline=True, limit=TEXT)

    fuzz()


def test_import_upload_view(world, as_user):
    from residents.models import ImportBatch

    client = as_user(world.worker.user)
    url = reverse("residents:import_list")
    sheets = st.builds(
        lambda name, rows: SimpleUploadedFile(name, rows.encode("utf-8", "surrogatepass")),
        file_names,
        st.lists(st.tuples(text_value(20).any(), text_value(20).any()), max_size=3).map(
            lambda rows: "姓名,楼号,单元,房号\n" + "\n".join(f"{a},1号楼,1,{b}" for a, b in rows)
        ),
    )

    @VIEW_FUZZ
    @given(upload=st.one_of(sheets, uploads))
    @example(upload=SimpleUploadedFile("名单\x00.csv", "姓名,楼号,单元,房号\n张三,1号楼,1,301\n".encode()))
    @in_savepoint
    def fuzz(upload):
        before = counts(ImportBatch)
        response = client.post(url, payload({}, world, {"file": upload}))
        assert_answered(response)
        assert deltas(before, ImportBatch) == {"ImportBatch": 1 if response.status_code == 302 else 0}
        if response.status_code == 302:
            batch = ImportBatch.objects.latest("pk")
            assert "\x00" not in batch.filename
            assert "\x00" not in str(batch.rows)

    fuzz()


def test_login_view(client, world):
    url = reverse("login")

    @VIEW_FUZZ
    @given(data=form_data(case_fields("LoginForm")))
    @example(data={"username": "worker_a\x00", "password": "onedesk-test-pw"})
    @example(data={"username": "u" * 300, "password": "x"})
    @in_savepoint
    def fuzz(data):
        response = client.post(url, payload(data, world))
        assert_answered(response, 200, 302, 403, 429)
        client.logout()

    fuzz()


@dataclass
class FilterPage:
    """A list page whose query string fills a filter form."""

    url: str
    persona: str
    fields: dict[str, Field]
    regressions: list[dict] = field(default_factory=list)
    known_bug: str = ""
    bug_raises: type[BaseException] = AssertionError


FILTER_PAGES = {
    "residents": FilterPage("residents:resident_list", "worker", case_fields("DirectorySearchForm")),
    "visits": FilterPage(
        "stations:visit_list",
        "worker",
        case_fields("VisitFilterForm"),
        regressions=[{"household": "9" * 25}],  # beyond 64 bits: OverflowError on SQLite
    ),
    "proactive": FilterPage("stations:proactive_list", "worker", case_fields("ProactiveFilterForm")),
    "schedule": FilterPage(
        "stations:today_schedule",
        "worker",
        case_fields("ScheduleFilterForm"),
        regressions=[{"space": "²"}, {"date": "0001-01-01"}, {"date": "9999-12-31"}],
    ),
}


@pytest.mark.parametrize(
    "filter_page",
    [
        pytest.param(
            page,
            id=name,
            marks=[pytest.mark.xfail(strict=True, raises=page.bug_raises, reason=page.known_bug)]
            if page.known_bug
            else [],
        )
        for name, page in FILTER_PAGES.items()
    ],
)
def test_filter_pages(world, as_user, filter_page):
    """List pages with a filter form: any query string gives the page (or a 404 for a foreign object)."""
    page = filter_page
    client = as_user(getattr(world, page.persona).user)
    url = reverse(page.url)

    def check(data):
        response = client.get(url, post_data(data, world))
        assert_answered(response, 200, 404)

    for data in page.regressions:
        check(data)

    @VIEW_FUZZ
    @given(data=form_data(page.fields))
    def fuzz(data):
        check(data)

    fuzz()
