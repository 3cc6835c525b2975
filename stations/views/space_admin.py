"""Staff pages of spaces and courses: the approvals queue, today's schedule with check-in, course
attendance, blocking a space, setting up courses and their sessions, and utilisation. Every page
needs stations.change_booking and reads through stations.selectors.space_admin, which scopes it to
the user's communities (another community's booking, space or course is a 404)."""

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from community.lib.http import add_service_errors, id_param, paginate, querystring_without_page
from residents.models import Resident
from residents.selectors import communities_visible_to
from stations.forms.space_admin import (
    AttendanceForm,
    CheckInForm,
    CourseForm,
    CourseSessionForm,
    DecideForm,
    ScheduleFilterForm,
    SpaceBlockForm,
)
from stations.models import Booking
from stations.selectors import space_admin as selectors
from stations.services import courses
from stations.services import spaces as services

STAFF = "stations.change_booking"
APPROVALS_PAGE_SIZE = 20


def _form_errors(form: Form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _back(request: HttpRequest, form: Form, default: str) -> HttpResponse:
    """Back to where the buttons were (a same-site `next`), else to `default`."""
    target = form.data.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def _schedule_url(day: dt.date, space_id: int | None = None) -> str:
    params = {"date": day.isoformat()}
    if space_id:
        params["space"] = str(space_id)
    return f"{reverse('stations:today_schedule')}?{urlencode(params)}"


def _when(booking: Booking) -> str:
    start, end = timezone.localtime(booking.starts_at), timezone.localtime(booking.ends_at)
    return f"{start:%m-%d %H:%M}–{end:%H:%M}"


# --- Approvals -------------------------------------------------------------------------------------


@login_required
@permission_required(STAFF, raise_exception=True)
@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    """Bookings of spaces that need approval, the longest-waiting first, with Approve / Reject."""
    page = paginate(request, selectors.pending_approvals(request.user), APPROVALS_PAGE_SIZE)
    return render(
        request,
        "stations/approval_list.html",
        {"page": page, "query": querystring_without_page(request)},
    )


@login_required
@permission_required(STAFF, raise_exception=True)
@require_POST
def booking_decide(request: HttpRequest, pk: int) -> HttpResponse:
    booking = selectors.get_staff_booking_for(request.user, pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(request, form, reverse("stations:approval_list"))
    approve = form.cleaned_data["approve"]
    try:
        services.booking_decide(actor=request.user, booking=booking, approve=approve)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        values = {"space": booking.space.name, "when": _when(booking)}
        if approve:
            messages.success(request, _("Approved: %(space)s, %(when)s.") % values)
        else:
            messages.success(request, _("Rejected: %(space)s, %(when)s.") % values)
    return _back(request, form, reverse("stations:approval_list"))


# --- The day's schedule and check-in ---------------------------------------------------------------


@login_required
@permission_required(STAFF, raise_exception=True)
@require_GET
def today_schedule(request: HttpRequest) -> HttpResponse:
    """One day (?date=, default today) of every space (or ?space=), in time order: bookings with
    check-in buttons, course sessions linking to their attendance, blocks."""
    spaces = selectors.staff_spaces(request.user).order_by("community__name", "position", "name")
    space = None
    space_id = request.GET.get("space", "")
    if space_id:
        if id_param(space_id) is None:
            raise Http404
        space = selectors.get_staff_space_for(request.user, id_param(space_id))
    form = ScheduleFilterForm(request.GET or None, spaces=spaces)
    day = form.day()
    schedule = selectors.day_schedule(request.user, day, space=space)
    here = _schedule_url(day, space.pk if space else None)
    context = {
        "form": form,
        "day": day,
        "is_today": day == timezone.localdate(),
        "space": space,
        "schedule": schedule,
        "previous_url": _schedule_url(day - dt.timedelta(days=1), space.pk if space else None),
        "next_url": _schedule_url(day + dt.timedelta(days=1), space.pk if space else None),
        "today_url": _schedule_url(timezone.localdate(), space.pk if space else None),
        "here": here,
    }
    return render(request, "stations/today_schedule.html", context)


@login_required
@permission_required(STAFF, raise_exception=True)
@require_POST
def booking_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    booking = selectors.get_staff_booking_for(request.user, pk)
    form = CheckInForm(request.POST)
    default = _schedule_url(timezone.localtime(booking.starts_at).date(), None)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(request, form, default)
    present = form.cleaned_data["present"]
    try:
        services.booking_check_in(actor=request.user, booking=booking, present=present)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        who = booking.resident.name if booking.resident else booking.space.name
        if present:
            messages.success(request, _("%(who)s checked in.") % {"who": who})
        else:
            messages.success(request, _("%(who)s marked as a no-show.") % {"who": who})
    return _back(request, form, default)


# --- Course attendance -----------------------------------------------------------------------------


@login_required
@permission_required(STAFF, raise_exception=True)
def session_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """A course session's participants with Present / No-show each, and the counts so far."""
    session = selectors.get_staff_session_for(request.user, pk)
    if request.method == "POST":
        residents = Resident.objects.filter(community_id=session.space.community_id)
        form = AttendanceForm(request.POST, residents=residents)
        if not form.is_valid():
            messages.error(request, _("This person is not enrolled in the course."))
        else:
            resident, present = form.cleaned_data["resident"], form.cleaned_data["present"]
            try:
                courses.attendance_record(
                    actor=request.user, session=session, resident=resident, present=present
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                if present:
                    messages.success(request, _("%(name)s is present.") % {"name": resident.name})
                else:
                    messages.success(request, _("%(name)s marked as a no-show.") % {"name": resident.name})
        return redirect("stations:session_attendance", pk=session.pk)
    participants = selectors.session_participants(session)
    context = {
        "session": session,
        "participants": participants,
        "counts": selectors.attendance_counts(participants),
        "schedule_url": _schedule_url(timezone.localtime(session.starts_at).date(), session.space_id),
    }
    return render(request, "stations/session_attendance.html", context)


# --- Blocking a space ------------------------------------------------------------------------------


@login_required
@permission_required(STAFF, raise_exception=True)
def space_block(request: HttpRequest, pk: int) -> HttpResponse:
    """Block a space for maintenance or an event; bookings in the way are listed, not cancelled."""
    space = selectors.get_staff_space_for(request.user, pk)
    form = SpaceBlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            block = services.space_block(
                actor=request.user,
                space=space,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
                submission_key=data["submission_key"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("%(space)s is blocked %(when)s.") % {"space": space.name, "when": _when(block)}
            )
            return redirect(_schedule_url(timezone.localtime(block.starts_at).date(), space.pk))
    return render(request, "stations/space_block.html", {"space": space, "form": form})


# --- Courses and sessions --------------------------------------------------------------------------


@login_required
@permission_required([STAFF, "stations.add_course"], raise_exception=True)
def course_create(request: HttpRequest) -> HttpResponse:
    spaces = selectors.staff_spaces(request.user).filter(is_active=True).order_by("position", "name")
    form = CourseForm(request.POST or None, spaces=spaces)
    if request.method == "POST" and form.is_valid():
        try:
            course = courses.course_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Course %(title)s set up. Now add its sessions.") % {"title": course.title}
            )
            return redirect("stations:course_session_create", pk=course.pk)
    return render(request, "stations/course_form.html", {"form": form})


@login_required
@permission_required([STAFF, "stations.change_course"], raise_exception=True)
def course_session_create(request: HttpRequest, pk: int) -> HttpResponse:
    """One session, or a weekly run of up to 26, all or nothing (a clash names the date)."""
    course = selectors.get_staff_course_for(request.user, pk)
    form = CourseSessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = courses.course_sessions_add(
                actor=request.user,
                course=course,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                weeks=data["weeks"],
                submission_key=data["submission_key"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                ngettext("%(n)d session added to %(title)s.", "%(n)d sessions added to %(title)s.", len(made))
                % {"n": len(made), "title": course.title},
            )
            return redirect("stations:course_detail", pk=course.pk)
    return render(request, "stations/course_session_form.html", {"course": course, "form": form})


# --- Utilisation -----------------------------------------------------------------------------------


@login_required
@permission_required(STAFF, raise_exception=True)
@require_GET
def utilisation(request: HttpRequest) -> HttpResponse:
    """Booked hours over open hours per space, for the last 8 weeks and this month; attendance and
    no-shows; and each community's office area beside its service area."""
    communities = communities_visible_to(request.user)
    today = timezone.localdate()
    rows = selectors.space_utilisation(communities, today=today)
    mondays, month_start, month_end = selectors.utilisation_periods(today)
    context = {
        "rows": rows,
        "total": selectors.utilisation_total(rows, today=today) if len(rows) > 1 else None,
        "mondays": mondays,
        "month_start": month_start,
        "month_last": month_end - dt.timedelta(days=1),
        "this_monday": mondays[-1],
        "areas": selectors.area_summary(communities),
    }
    return render(request, "stations/utilisation.html", context)
