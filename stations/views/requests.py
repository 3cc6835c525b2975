"""The staff pages for service requests: intake, the queue, the list, the detail page with its
actions, photos and the printable receipt. Each view: selector (404 across communities) → form →
service → message → redirect."""

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.lib.http import add_service_errors, id_param, is_stale, paginate, querystring_without_page
from community.lib.validators import nfkc
from residents.models import Enterprise
from residents.selectors import buildings_visible_to, spans_communities
from stations.choices import Action, Channel, RatingSource, Status
from stations.filters import ServiceRequestFilter
from stations.forms.requests import (
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
from stations.models import ServiceRequest, Station
from stations.selectors import requests as selectors
from stations.selectors.desk import worker_of
from stations.services import requests as services
from stations.workflow import allowed_actions

LIST_PAGE_SIZE = 25

HANDLE = "stations.handle_servicerequest"
VIEW = "stations.view_servicerequest"


# --- Intake ----------------------------------------------------------------------------------------


def _intake_community(request: HttpRequest):
    """Requests are logged for the worker's or head's own community; subdistrict staff have none."""
    community = selectors.intake_community(request.user)
    if community is None:
        raise PermissionDenied
    return community


def resident_lookup_response(
    request: HttpRequest,
    residents,
    *,
    field: str,
    lookup_url: str,
    param: str = "q",
    care_tags: bool = True,
) -> HttpResponse:
    """The htmx answers of the resident lookup (stations/_resident_lookup.html), shared by the intake and
    the staff booking forms: with ?pick=<id> the chosen person's block holding the hidden `field` input
    (?pick= empty clears it), else up to 8 residents of `residents` matching ?<param>, masked phones.
    `residents` is the scope: an id outside it is a 404."""
    context = {"field": field, "lookup_url": lookup_url, "care_tags": care_tags}
    if "pick" in request.GET:
        pick = request.GET["pick"]
        chosen = None
        if pick:
            scope = selectors.lookup_residents(residents, care_tags=care_tags)
            chosen = scope.filter(pk=pick_id).first() if (pick_id := id_param(pick)) else None
            if chosen is None:
                raise Http404
        return render(
            request,
            "stations/_resident_lookup.html#chosen",
            {**context, "chosen": chosen, "clear_results": True},
        )
    text = nfkc(request.GET.get(param, ""))[:100]
    context |= {"results": selectors.resident_matches(residents, text, care_tags=care_tags), "q": text}
    return render(request, "stations/_resident_lookup.html#results", context)


def _prefill(params) -> dict:
    """Initial values from links such as the proactive list's "raise a proactive request":
    ?category=&building=&channel=proactive&title=. The form still validates everything on POST."""
    initial: dict = {}
    for field in ("category", "building"):
        if (pk := id_param(params.get(field))) is not None:
            initial[field] = pk
    if params.get("channel") in Channel.values:
        initial["channel"] = params["channel"]
    if params.get("title"):
        initial["title"] = params["title"][:120]
    return initial


@login_required
@permission_required("stations.add_servicerequest", raise_exception=True)
def request_create(request: HttpRequest) -> HttpResponse:
    community = _intake_community(request)
    residents = selectors.intake_residents(community)
    kwargs = {
        "residents": residents,
        "enterprises": Enterprise.objects.filter(community=community).order_by("name"),
        "buildings": buildings_visible_to(request.user)
        .filter(community=community)
        .order_by("position", "number"),
        "categories": selectors.categories_for(community),
        "resident_get": selectors.intake_resident_get(community),
    }
    chosen = None
    if request.method == "POST":
        form = RequestIntakeForm(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                service_request, created = services.service_request_create(
                    actor=request.user, community=community, **data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if created:
                    messages.success(
                        request, _("Request %(reference)s logged.") % {"reference": service_request.reference}
                    )
                else:
                    messages.info(
                        request,
                        _("This form was already sent: request %(reference)s.")
                        % {"reference": service_request.reference},
                    )
                return redirect(service_request)
        chosen = form.cleaned_data.get("requester") if hasattr(form, "cleaned_data") else None
    else:
        initial = {"submission_key": uuid.uuid4(), **_prefill(request.GET)}
        requester_id = id_param(request.GET.get("requester"))
        if requester_id is not None:
            chosen = residents.filter(pk=requester_id).first()
            initial["requester"] = chosen.pk if chosen else None
        form = RequestIntakeForm(initial=initial, **kwargs)
    return render(request, "stations/request_form.html", {"form": form, "chosen": chosen})


@login_required
@permission_required("stations.add_servicerequest", raise_exception=True)
def resident_lookup(request: HttpRequest) -> HttpResponse:
    """htmx: residents of the worker's community matching what is typed (max 8, masked phones),
    or with ?pick=<id> the chosen-person block that fills the hidden requester field."""
    community = _intake_community(request)
    return resident_lookup_response(
        request,
        selectors.intake_residents(community),
        field="requester",
        lookup_url=reverse("stations:resident_lookup"),
    )


# --- Lists -----------------------------------------------------------------------------------------


@login_required
@permission_required(HANDLE, raise_exception=True)
def my_queue(request: HttpRequest) -> HttpResponse:
    worker = worker_of(request.user)
    view = request.GET.get("view") or ("mine" if worker else "shared")
    if view not in selectors.QUEUE_TABS:
        view = "mine"
    now = timezone.now()
    counts = selectors.queue_counts(request.user, worker, now=now)
    rows = selectors.queue_rows(request.user, worker, view=view, now=now, count=counts[view])
    context = {
        "view": view,
        "worker": worker,
        "tabs": [
            (code, label, counts[code])
            for code, label in (
                ("mine", _("Mine")),
                ("due_soon", _("Due within 24 h")),
                ("overdue", _("Overdue")),
                ("shared", _("Shared (unassigned)")),
            )
        ],
        "page": paginate(request, rows, count=counts[view]),  # the tab's count: no second COUNT
        "query": querystring_without_page(request),
        "show_community": spans_communities(request.user),
    }
    return render(request, "stations/request_queue.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
def request_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.with_overdue(selectors.requests_visible_to(request.user))
    filterset = ServiceRequestFilter(request.GET or None, queryset=queryset, user=request.user)
    found = filterset.qs
    # Counted before the rows' joined names are added: an inner join stays in a COUNT (it could drop rows).
    rows = selectors.request_rows_for(request.user, found)
    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": paginate(request, rows, per_page=LIST_PAGE_SIZE, count=found.count()),
        "query": querystring_without_page(request),
        "filtered": any(k != "page" for k in request.GET),
        "show_community": filterset.shows_community,
    }
    return render(request, "stations/request_list.html", context)


# --- Detail ----------------------------------------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk, detail=True)
    worker = worker_of(request.user)
    extension = selectors.pending_extension(service_request)
    actions = allowed_actions(
        user=request.user,
        service_request=service_request,
        worker=worker,
        has_pending_extension=extension is not None,
    )
    can = {action.value: action in actions for action in Action}
    version = {"version": service_request.version}
    now = timezone.now()
    context = {
        "sr": service_request,
        "now": now,
        "is_overdue": service_request.is_open and service_request.resolution_due_at < now,
        "timeline": selectors.timeline(service_request),
        "extension": extension,
        "can": can,
        "any_action": bool(actions - {Action.NOTE}),
        # Several forms on one page: distinct id prefixes keep label/for pairs unique.
        "assign_form": AssignForm(
            initial=version,
            auto_id="assign_%s",
            workers=selectors.assignable_workers(service_request.community_id),
        )
        if can[Action.REASSIGN]
        else None,
        "extension_form": ExtensionForm(initial=version, auto_id="extension_%s")
        if can[Action.REQUEST_EXTENSION]
        else None,
        "callback_form": CallbackForm(initial=version, auto_id="callback_%s")
        if can[Action.RECORD_CALLBACK]
        else None,
        "note_form": NoteForm(),
        "photo_form": PhotoForm(),
        "statuses": Status,
        "labels": {action.value: action.label for action in Action},
    }
    return render(request, "stations/request_detail.html", context)


# --- Actions (POST only) ---------------------------------------------------------------------------


def _form_errors(form: Form) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields and form.fields[field].label else ""
        parts += [f"{label}: {error}" if label else str(error) for error in errors]
    return " ".join(parts)


def _perform(
    request: HttpRequest,
    service_request: ServiceRequest,
    form: Form,
    call: Callable[[dict], object],
    success: str | Callable[[dict], str],
) -> HttpResponse:
    """Validate, call the service, report, and go back to the request page (which shows its latest state)."""
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(service_request)
    try:
        call(form.cleaned_data)
    except ValidationError as exc:
        # A stale write says so and the redirect shows the latest state; other refusals list their reasons.
        messages.error(request, exc.messages[0] if is_stale(exc) else " ".join(exc.messages))
    else:
        messages.success(request, success(form.cleaned_data) if callable(success) else success)
    return redirect(service_request)


def _version(data: dict) -> int | None:
    return data.get("version")


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def request_transition(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    return _perform(
        request,
        service_request,
        TransitionForm(request.POST),
        lambda d: services.service_request_transition(
            service_request=service_request,
            to_status=d["to_status"],
            actor=request.user,
            note=d["note"],
            version=_version(d),
        ),
        lambda d: _("Status changed to %(status)s.") % {"status": Status(d["to_status"]).label},
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def request_assign(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    form = AssignForm(request.POST, workers=selectors.assignable_workers(service_request.community_id))
    return _perform(
        request,
        service_request,
        form,
        lambda d: services.service_request_assign(
            service_request=service_request,
            assignee=d["assignee"],
            actor=request.user,
            note=d["note"],
            version=_version(d),
        ),
        lambda d: _("Assigned to %(name)s.") % {"name": d["assignee"].display_name},
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def request_urge(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    return _perform(
        request,
        service_request,
        UrgeForm(request.POST),
        lambda d: services.service_request_urge(
            service_request=service_request, actor=request.user, note=d["note"]
        ),
        _("The assignee has been urged."),
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def extension_create(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    return _perform(
        request,
        service_request,
        ExtensionForm(request.POST),
        lambda d: services.extension_request(
            service_request=service_request,
            actor=request.user,
            new_due_at=d["new_due_at"],
            reason=d["reason"],
        ),
        _("Extension requested; the committee head decides."),
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def extension_decide(request: HttpRequest, pk: int, extension_pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    extension = selectors.get_extension(service_request, extension_pk)
    return _perform(
        request,
        service_request,
        ExtensionDecideForm(request.POST),
        lambda d: services.extension_decide(
            extension=extension, actor=request.user, approve=d["decision"] == "approve", note=d["note"]
        ),
        lambda d: _("Extension approved.") if d["decision"] == "approve" else _("Extension rejected."),
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def request_callback(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    return _perform(
        request,
        service_request,
        CallbackForm(request.POST),
        lambda d: services.service_request_rate(
            service_request=service_request,
            actor=request.user,
            solved=d["solved"],
            satisfaction=d["satisfaction"],
            comment=d["comment"],
            source=RatingSource.CALLBACK,
            version=_version(d),
        ),
        _("Follow-up call recorded."),
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def note_create(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    return _perform(
        request,
        service_request,
        NoteForm(request.POST),
        lambda d: services.note_add(
            service_request=service_request,
            actor=request.user,
            body=d["body"],
            is_public=d["is_public"],
            submission_key=d["submission_key"],
        ),
        _("Note added."),
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
def note_update(request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    note = selectors.get_note(service_request, note_pk)
    if note.author_id != request.user.pk:  # the service refuses too; this keeps the form from showing
        raise PermissionDenied
    form = NoteForm(request.POST or None, initial={"body": note.body, "is_public": note.is_public})
    if request.method == "POST" and form.is_valid():
        try:
            services.note_update(
                note=note,
                actor=request.user,
                body=form.cleaned_data["body"],
                is_public=form.cleaned_data["is_public"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Note saved."))
            return redirect(service_request)
    return render(
        request, "stations/request_note_form.html", {"sr": service_request, "note": note, "form": form}
    )


@login_required
@permission_required(HANDLE, raise_exception=True)
@require_POST
def photo_create(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = selectors.get_request_for(request.user, pk)
    return _perform(
        request,
        service_request,
        PhotoForm(request.POST, request.FILES),
        lambda d: services.photo_add(
            service_request=service_request,
            actor=request.user,
            upload=d["photo"],
            submission_key=d["submission_key"],
        ),
        _("Photo added."),
    )


# --- Files and print -------------------------------------------------------------------------------


def _request_with_photos_for(user, pk: int) -> ServiceRequest:
    """Staff see the photos of requests of their communities; a resident those of their own requests."""
    if user.has_perm(VIEW):
        return selectors.get_request_for(user, pk)
    service_request = selectors.own_requests(user).filter(pk=pk).first()
    if service_request is None:
        raise Http404
    return service_request


@login_required
def request_photo(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    service_request = _request_with_photos_for(request.user, pk)
    photo = selectors.get_photo(service_request, photo_pk)
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _masked_name(name: str) -> str:
    """张焱 → 张*: enough for the requester to recognise the slip, nothing more."""
    return f"{name[:1]}*" if name else ""


@login_required
@permission_required(VIEW, raise_exception=True)
def request_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable receipt (回执) handed to the requester: reference, deadlines and where to track it."""
    service_request = selectors.get_request_for(request.user, pk)
    station = Station.objects.filter(community_id=service_request.community_id).first()
    track_url = request.build_absolute_uri(
        reverse("stations:track") + "?" + urlencode({"ref": service_request.reference})
    )
    requester = service_request.requester
    context = {
        "sr": service_request,
        "station": station,
        "track_url": track_url,
        # segno writes the SVG itself from the URL; nothing user-typed reaches it unescaped.
        "qr_svg": mark_safe(segno.make(track_url).svg_inline(scale=4)),
        "requester_name": _masked_name(requester.name if requester else service_request.contact_name),
        "enterprise": service_request.requester_enterprise,
    }
    return render(request, "stations/request_receipt.html", context)
