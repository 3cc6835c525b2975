"""The residents' side: their own requests (list, submit, follow, answer the follow-up 回访) and the
public tracking page a receipt's QR code leads to. Residents see requests by random token, never by
integer pk; the tracking page shows no personal data at all."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from community.lib.http import add_service_errors, client_ip, is_stale, paginate, querystring_without_page
from residents.models import Resident
from stations.choices import Channel, RatingSource, Status
from stations.forms.public import OwnRatingForm, OwnRequestForm, TrackForm
from stations.models import ServiceRequest
from stations.selectors import requests as selectors
from stations.services.requests import service_request_create, service_request_rate

# At most this many failed lookups per client IP within the window, so a reference plus a
# four-digit phone tail cannot be guessed by trying.
TRACK_MAX_FAILURES = 10
TRACK_WINDOW_SECONDS = 15 * 60


def _resident_or_403(request: HttpRequest) -> Resident:
    resident = getattr(request.user, "resident", None)
    if resident is None:
        raise PermissionDenied
    return resident


@login_required
def own_request_list(request: HttpRequest) -> HttpResponse:
    _resident_or_403(request)
    service_requests = selectors.own_requests(request.user).order_by("-received_at", "-pk")
    context = {"page": paginate(request, service_requests), "query": querystring_without_page(request)}
    return render(request, "stations/own_request_list.html", context)


@login_required
def own_request_create(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_403(request)
    form = OwnRequestForm(
        request.POST or None, request.FILES or None, categories=selectors.categories_for(resident.community)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service_request, created = service_request_create(
                actor=request.user,
                community=resident.community,
                category=data["category"],
                title=data["title"],
                description=data["description"],
                requester=resident,
                channel=Channel.ONLINE,
                submission_key=data["submission_key"],
                photos=data["photos"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if service_request.requester_id != resident.pk:
                # A submission key is only ever in this resident's own form; someone else's means a forged
                # form. Say nothing about the request it belongs to.
                messages.error(request, _("This form has expired. Please fill it in again."))
                return redirect("stations:own_request_create")
            if created:
                messages.success(
                    request,
                    _("Your request has been received. Its reference is %(reference)s.")
                    % {"reference": service_request.reference},
                )
            else:
                messages.info(
                    request,
                    _("This request had already been received. Its reference is %(reference)s.")
                    % {"reference": service_request.reference},
                )
            return redirect("stations:own_request_detail", token=service_request.token)
    return render(request, "stations/own_request_form.html", {"form": form})


def _rating_form(service_request: ServiceRequest, data=None) -> OwnRatingForm:
    action = reverse("stations:own_request_rate", kwargs={"token": service_request.token})
    return OwnRatingForm(data, initial={"version": service_request.version}, action=action)


def _render_detail(
    request: HttpRequest,
    service_request: ServiceRequest,
    rating_form: OwnRatingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if rating_form is None and service_request.status == Status.RESOLVED:
        rating_form = _rating_form(service_request)
    context = {
        "service_request": service_request,
        "timeline": selectors.timeline(service_request, public_only=True),
        "photos": service_request.photos.all(),
        "rating_form": rating_form,
    }
    return render(request, "stations/own_request_detail.html", context, status=status)


@login_required
def own_request_detail(request: HttpRequest, token: str) -> HttpResponse:
    _resident_or_403(request)
    service_request = selectors.get_own_request(request.user, token)
    return _render_detail(request, service_request)


@require_POST
@login_required
def own_request_rate(request: HttpRequest, token: str) -> HttpResponse:
    """The requester's follow-up answer. Solved and not dissatisfied closes the request; otherwise the
    service reopens it for rework with the same worker."""
    _resident_or_403(request)
    service_request = selectors.get_own_request(request.user, token)
    form = _rating_form(service_request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            service_request = service_request_rate(
                service_request=service_request,
                actor=request.user,
                solved=data["solved"],
                satisfaction=data["satisfaction"],
                comment=data["comment"],
                source=RatingSource.REQUESTER,
                version=data["version"],
            )
        except ValidationError as exc:
            if is_stale(exc) or not hasattr(exc, "error_dict"):
                # Stale, or no longer awaiting an answer: say so and show the latest state.
                messages.error(request, exc.messages[0])
                return redirect("stations:own_request_detail", token=token)
            add_service_errors(form, exc)
        else:
            if service_request.status == Status.CLOSED:
                messages.success(request, _("Thank you. The request has been closed."))
            else:
                messages.warning(
                    request,
                    _("We are sorry. The request has been reopened and the worker will contact you again."),
                )
            return redirect("stations:own_request_detail", token=token)
    return _render_detail(request, service_request, rating_form=form)


def _track_failures_key(request: HttpRequest) -> str:
    return f"track-failures:{client_ip(request) or 'unknown'}"


def _track_record_failure(key: str) -> None:
    # The window starts at the first failure; add() is a no-op when the counter already exists.
    cache.add(key, 0, TRACK_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, TRACK_WINDOW_SECONDS)


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Public, no login: reference + last four digits of the phone. POST, so the digits stay out of
    logs and browser history. A mismatch and an unknown reference get the same answer."""
    key = _track_failures_key(request)
    context: dict = {"service_request": None, "not_found": False, "blocked": False}
    status = 200
    if request.method == "POST":
        if cache.get(key, 0) >= TRACK_MAX_FAILURES:
            context["blocked"] = True
            form = TrackForm()
            status = 429
        else:
            form = TrackForm(request.POST)
            if form.is_valid():
                service_request = selectors.track_request(
                    form.cleaned_data["reference"], form.cleaned_data["phone_tail"]
                )
                if service_request is None:
                    _track_record_failure(key)
                    context["not_found"] = True
                    form = TrackForm(initial={"reference": form.cleaned_data["reference"]})
                else:
                    context["service_request"] = service_request
                    context["timeline"] = selectors.timeline(service_request, public_only=True)
    else:
        form = TrackForm(
            initial={"reference": selectors.normalize_reference(request.GET.get("ref", ""))[:40]}
        )
    context["form"] = form
    response = render(request, "stations/track.html", context, status=status)
    add_never_cache_headers(response)  # no-store: the result must not stay in a shared or back-button cache
    return response
