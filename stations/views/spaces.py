"""Spaces and courses, the pages residents and staff share: the spaces of the community, a space's
week, booking a slot (or the same slot every week), my bookings, courses with enrolment and a
waiting list, the space photo and the public read-only calendar feed.

Residents book and enrol for themselves; staff (stations.change_booking in the space's community)
book on behalf of a walk-in. Every object is read through stations.selectors.spaces: a space of
another community is a 404, and residents never see who holds a slot."""

import datetime as dt
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from community.lib import ics
from community.lib.http import add_service_errors, paginate, querystring_without_page
from residents.models import Resident
from stations.choices import BookingStatus, EnrolmentStatus
from stations.forms.spaces import BookingForm, SeriesForm
from stations.models import Booking, Space
from stations.selectors import spaces as selectors
from stations.services import courses
from stations.services import spaces as services
from stations.views.requests import resident_lookup_response

FEED_PRODID = "-//OneDesk//Spaces//ZH"
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


def _when(booking: Booking) -> str:
    start, end = timezone.localtime(booking.starts_at), timezone.localtime(booking.ends_at)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


def _week_url(space: Space, moment: dt.datetime | None = None) -> str:
    url = reverse("stations:space_week", args=[space.pk])
    if moment is None:
        return url
    day = timezone.localtime(moment).date()
    return f"{url}?week={day - dt.timedelta(days=day.weekday()):%Y-%m-%d}"


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _booker(request: HttpRequest, space: Space) -> tuple[bool, Resident | None]:
    """(staff, own resident): staff book for anyone of the community, residents for themselves."""
    if services.is_staff_for(request.user, space):
        return True, None
    resident = selectors.own_resident(request.user)
    if resident is None:
        raise PermissionDenied
    return False, resident


def _resident_lookup(request: HttpRequest, space: Space) -> HttpResponse:
    """htmx, staff only: the resident lookup of the booking form (the intake's, over the space's community)."""
    return resident_lookup_response(
        request,
        selectors.residents_for_booking(space),
        field="resident",
        lookup_url=reverse("stations:booking_create", args=[space.pk]),
        param="resident_q",
        care_tags=False,  # whom a room is booked for, not their care needs
    )


def _is_taken(exc: ValidationError) -> bool:
    return not hasattr(exc, "error_dict") and any(e.code == "taken" for e in exc.error_list)


def _default_end(choices: list[tuple[str, str]], start: dt.datetime | None) -> str | None:
    """An hour if the space allows it, else the shortest booking."""
    if not choices or start is None:
        return None
    an_hour = selectors.local_input(start + dt.timedelta(hours=1))
    values = [value for value, _label in choices]
    return an_hour if an_hour in values else values[0]


# --- Spaces ------------------------------------------------------------------------------------


@login_required
def space_list(request: HttpRequest) -> HttpResponse:
    spaces = selectors.spaces_visible_to(request.user).order_by("community__name", "position", "name", "pk")
    context = {
        "page": paginate(request, spaces),
        "query": querystring_without_page(request),
        "areas": selectors.area_summary(request.user),
        "staff": selectors.is_space_staff(request.user),
    }
    return render(request, "stations/space_list.html", context)


@login_required
def space_week(request: HttpRequest, pk: int) -> HttpResponse:
    space = selectors.get_space_for(request.user, pk)
    now = timezone.now()
    staff = services.is_staff_for(request.user, space)
    monday = selectors.week_monday(request.GET.get("week"), timezone.localdate(now))
    grid = selectors.week_grid(space, monday=monday, user=request.user, staff=staff, now=now)
    context = {
        "space": space,
        "grid": grid,
        "staff": staff,
        "may_book": staff or selectors.own_resident(request.user) is not None,
        "feed_url": request.build_absolute_uri(reverse("stations:space_feed", args=[space.feed_token])),
        "this_week": selectors.week_monday(None, timezone.localdate(now)),
    }
    return render(request, "stations/space_week.html", context)


@login_required
def booking_create(request: HttpRequest, pk: int) -> HttpResponse:
    """The booking form (contract: GET ?start=<local datetime>; POST starts_at, ends_at, purpose,
    attendees, submission_key, and for staff resident (an id) or resident_q (text to look up)).
    A slot taken meanwhile re-shows the form (409). For staff, GET ?resident_q= and ?pick= answer the
    resident lookup (htmx)."""
    space = selectors.get_space_for(request.user, pk)
    staff, resident = _booker(request, space)
    if request.method == "GET" and ("resident_q" in request.GET or "pick" in request.GET):
        if not staff:
            raise PermissionDenied  # residents never search the registry
        return _resident_lookup(request, space)
    refresh_url = reverse("stations:booking_create", args=[space.pk])
    kwargs = {
        "space": space,
        "staff": staff,
        "residents": selectors.residents_for_booking(space) if staff else None,
        "refresh_url": refresh_url,
    }
    status = 200
    if request.method == "POST":
        start = selectors.parse_local(request.POST.get("starts_at"))
        form = BookingForm(request.POST, **kwargs)  # the end choices only if the form is shown again
        if form.is_valid():
            data = form.cleaned_data
            try:
                booking, created = services.booking_create(
                    actor=request.user,
                    space=space,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    resident=data["resident"] if staff else resident,
                    purpose=data["purpose"],
                    attendees=data["attendees"],
                    submission_key=data["submission_key"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
                if _is_taken(exc):
                    status = 409
            else:
                if booking.booked_by_id != request.user.pk or booking.space_id != space.pk:
                    # A submission key only ever lives in this user's form: someone else's is forged.
                    messages.error(request, _("This form has expired. Please fill it in again."))
                    return redirect("stations:booking_create", pk=space.pk)
                _booking_message(request, booking, created=created, staff=staff)
                if staff:
                    return redirect(_week_url(space, booking.starts_at))
                return redirect("stations:own_bookings")
        form.offer_ends(selectors.end_choices(space, start))
    else:
        start = selectors.parse_local(request.GET.get("start") or request.GET.get("starts_at"))
        start = start or selectors.next_slot(space, timezone.now())
        choices = selectors.end_choices(space, start)
        initial = {"starts_at": start, "ends_at": _default_end(choices, start)}
        form = BookingForm(initial=initial, end_choices=choices, **kwargs)
        if request.htmx:
            return render(request, "stations/booking_fields.html#end_field", {"form": form})
    context = {"space": space, "form": form, "staff": staff, "week_url": _week_url(space, start)}
    return render(request, "stations/booking_form.html", context, status=status)


def _booking_message(request: HttpRequest, booking: Booking, *, created: bool, staff: bool) -> None:
    values = {"space": booking.space.name, "when": _when(booking)}
    if not created:
        messages.info(request, _("This booking had already been made: %(space)s, %(when)s.") % values)
    elif booking.status == BookingStatus.PENDING:
        messages.success(
            request,
            _("Your booking of %(space)s, %(when)s, is waiting for approval. Staff will confirm it.")
            % values,
        )
    elif staff:
        messages.success(
            request,
            _("Booked %(space)s, %(when)s, for %(name)s.") % {**values, "name": booking.resident.name},
        )
    else:
        messages.success(request, _("Booked: %(space)s, %(when)s.") % values)


@login_required
def booking_series(request: HttpRequest, pk: int) -> HttpResponse:
    """The same slot every week: fill in, check the dates (each with ✓ or ✗), then book them all
    (only if none clash) or book without the clashing dates."""
    space = selectors.get_space_for(request.user, pk)
    staff, resident = _booker(request, space)
    kwargs = {
        "space": space,
        "staff": staff,
        "residents": selectors.residents_for_booking(space) if staff else None,
        "refresh_url": reverse("stations:booking_create", args=[space.pk]),
    }
    preview = None
    if request.method == "POST":
        start = selectors.parse_local(request.POST.get("starts_at"))
        form = SeriesForm(request.POST, end_choices=selectors.end_choices(space, start), **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            action = request.POST.get("action", "check")
            if action in {"all", "skip"}:
                try:
                    _series, made, skipped = services.booking_series_create(
                        actor=request.user,
                        space=space,
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        weeks=data["weeks"],
                        resident=data["resident"] if staff else resident,
                        purpose=data["purpose"],
                        attendees=data["attendees"],
                        skip_clashes=action == "skip",
                        submission_key=data["submission_key"],
                    )
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    _series_message(request, made, skipped)
                    if staff:
                        return redirect(_week_url(space, made[0].starts_at))
                    return redirect("stations:own_bookings")
            preview = services.series_preview(
                space=space, starts_at=data["starts_at"], ends_at=data["ends_at"], weeks=data["weeks"]
            )
    else:
        start = selectors.parse_local(request.GET.get("start")) or selectors.next_slot(space, timezone.now())
        choices = selectors.end_choices(space, start)
        form = SeriesForm(
            initial={"starts_at": start, "ends_at": _default_end(choices, start)},
            end_choices=choices,
            **kwargs,
        )
    context = {
        "space": space,
        "form": form,
        "staff": staff,
        "preview": preview,
        "clashes": sum(1 for item in preview or () if item["clash"]),
        "week_url": _week_url(space, start),
    }
    return render(request, "stations/booking_series.html", context)


def _series_message(request: HttpRequest, made: list[Booking], skipped: list[dt.datetime]) -> None:
    if skipped:
        dates = ", ".join(f"{timezone.localtime(moment):%Y-%m-%d}" for moment in skipped)
        messages.warning(
            request,
            ngettext(
                "Booked %(n)d date. Not booked because they clash: %(dates)s.",
                "Booked %(n)d dates. Not booked because they clash: %(dates)s.",
                len(made),
            )
            % {"n": len(made), "dates": dates},
        )
    else:
        messages.success(
            request,
            ngettext("Booked %(n)d weekly date.", "Booked all %(n)d weekly dates.", len(made))
            % {"n": len(made)},
        )
    if made[0].status == BookingStatus.PENDING:
        messages.info(request, _("This space needs approval: staff will confirm your bookings."))


@login_required
def space_photo(request: HttpRequest, pk: int) -> FileResponse:
    space = selectors.get_space_for(request.user, pk)
    if not space.photo:
        raise Http404
    try:
        handle = space.photo.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    content_type = mimetypes.guess_type(space.photo.name)[0]
    if content_type in PHOTO_TYPES:
        response = FileResponse(handle, content_type=content_type)
    else:
        # Not a picture we know: never let a browser render it as a page.
        response = FileResponse(handle, content_type="application/octet-stream", as_attachment=True)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def space_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Public read-only iCalendar feed of a space, found by its secret token. It names no person:
    a booking is "Booked", a block "Blocked", a course session the course's title."""
    space = selectors.feed_space(token)
    now = timezone.now()
    events = [
        ics.Event(
            uid=f"booking-{booking.pk}@onedesk",
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            summary=selectors.public_label(booking),
            status="TENTATIVE" if booking.status == BookingStatus.PENDING else "CONFIRMED",
        )
        for booking in selectors.feed_bookings(space, now)
    ]
    body = ics.calendar(name=space.name, events=events, prodid=FEED_PRODID, now=now)
    response = HttpResponse(body.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="space-{space.pk}.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- My bookings -------------------------------------------------------------------------------


@login_required
def own_bookings(request: HttpRequest) -> HttpResponse:
    if selectors.own_resident(request.user) is None:
        raise PermissionDenied
    now = timezone.now()
    bookings = selectors.own_bookings(request.user)
    context = {
        "upcoming": selectors.mark_cancellable(
            bookings.filter(ends_at__gt=now).order_by("starts_at", "pk"), now
        ),
        "page": paginate(request, bookings.filter(ends_at__lte=now).order_by("-starts_at", "-pk")),
        "query": querystring_without_page(request),
        "enrolments": list(selectors.own_enrolments(request.user)),
    }
    return render(request, "stations/own_bookings.html", context)


@require_POST
@login_required
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = selectors.get_booking_for_cancel(request.user, pk)
    try:
        booking = services.booking_cancel(actor=request.user, booking=booking)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("Cancelled: %(space)s, %(when)s.") % {"space": booking.space.name, "when": _when(booking)},
        )
    if services.is_staff_for(request.user, booking.space):
        return redirect(_week_url(booking.space, booking.starts_at))
    return redirect("stations:own_bookings")


# --- Courses -----------------------------------------------------------------------------------


@login_required
def course_list(request: HttpRequest) -> HttpResponse:
    context = {
        "page": paginate(request, selectors.course_list(request.user)),
        "query": querystring_without_page(request),
        "resident": selectors.own_resident(request.user),
        "staff": selectors.is_space_staff(request.user),
    }
    return render(request, "stations/course_list.html", context)


@login_required
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.get_course_for(request.user, pk)
    staff = services.is_staff_for(request.user, course.space)
    context = {
        "course": course,
        "resident": selectors.own_resident(request.user),
        "enrolment": selectors.current_enrolment(request.user, course),
        "staff": staff,
        "participants": list(selectors.course_participants(course)) if staff else None,
    }
    return render(request, "stations/course_detail.html", context)


@require_POST
@login_required
def course_enrol(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.get_course_for(request.user, pk)
    resident = selectors.own_resident(request.user)
    if resident is None:
        raise PermissionDenied
    before = selectors.current_enrolment(request.user, course)
    try:
        courses.enrol(actor=request.user, course=course, resident=resident)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(course)
    enrolment = selectors.current_enrolment(request.user, course)
    values = {"course": course.title, "n": enrolment.position}
    if before is not None:
        messages.info(request, _("You are already on %(course)s.") % values)
    elif enrolment.status == EnrolmentStatus.ENROLLED:
        messages.success(request, _("You are enrolled in %(course)s.") % values)
    else:
        messages.info(request, _("%(course)s is full. You are number %(n)d on the waiting list.") % values)
    return redirect(course)


@require_POST
@login_required
def course_leave(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.get_course_for(request.user, pk)
    enrolment = selectors.current_enrolment(request.user, course)
    if enrolment is None:
        raise Http404
    promoted = courses.enrolment_leave(actor=request.user, enrolment=enrolment)
    if enrolment.status == EnrolmentStatus.WAITLISTED:
        text = _("You have left the waiting list of %(course)s.") % {"course": course.title}
    else:
        text = _("You have left %(course)s.") % {"course": course.title}
    if promoted is not None:
        text = " ".join([text, _("Your place went to the next person on the waiting list.")])
    messages.success(request, text)
    return redirect(_safe_next(request) or course.get_absolute_url())
