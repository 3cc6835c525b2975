"""The desk itself: the home page per role, social workers, leave and notifications."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from community.lib.http import add_service_errors, paginate, querystring_without_page
from residents.selectors import communities_with_counts, home_community_for
from stations.choices import Role
from stations.forms.desk import LeaveForm
from stations.roles import user_roles
from stations.selectors import desk as selectors
from stations.selectors.notifications import notifications_for
from stations.selectors.requests import own_requests
from stations.services import staff as staff_services
from stations.services.notifications import notifications_mark_read


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """One home page per role: the worker's buildings, the head's community, the subdistrict's
    communities, the resident's own household."""
    roles = user_roles(request.user)
    if not roles and not request.user.is_superuser:
        return render(request, "stations/home_none.html")
    if roles == {Role.RESIDENT}:
        resident = getattr(request.user, "resident", None)
        latest = own_requests(request.user).order_by("-received_at", "-pk")[:5]
        return render(
            request, "stations/home_resident.html", {"resident": resident, "latest_requests": latest}
        )
    worker = selectors.worker_of(request.user)
    context = {
        "roles": roles,
        "worker": worker,
        "buildings": selectors.worker_buildings(worker) if worker else [],
        "community": home_community_for(request.user),
        "communities": communities_with_counts(request.user),
        "is_head": Role.HEAD in roles,
        "is_subdistrict": Role.SUBDISTRICT in roles,
    }
    return render(request, "stations/home_staff.html", context)


@login_required
@permission_required("stations.view_socialworker", raise_exception=True)
def worker_list(request: HttpRequest) -> HttpResponse:
    workers = selectors.workers_visible_to(request.user).order_by(
        "community__name", "worker_type", "display_name"
    )
    return render(request, "stations/worker_list.html", {"workers": workers})


@login_required
@permission_required("stations.view_socialworker", raise_exception=True)
def worker_detail(request: HttpRequest, pk: int) -> HttpResponse:
    worker = selectors.get_worker_for(request.user, pk)
    return render(request, "stations/worker_detail.html", {"worker": worker})


@login_required
def leave_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a worker's leave (the committee head, or the worker themself). Leave that has started
    hands the worker's open requests over at once."""
    worker = selectors.get_worker_for(request.user, pk)
    if not (request.user.has_perm("stations.add_leave") or worker.user_id == request.user.pk):
        raise PermissionDenied
    covers = (
        selectors.workers_visible_to(request.user)
        .filter(community=worker.community_id, is_active=True)
        .exclude(pk=worker.pk)
        .order_by("worker_type", "display_name")
    )
    form = LeaveForm(request.POST or None, covers=covers)
    if request.method == "POST" and form.is_valid():
        try:
            leave = staff_services.leave_create(actor=request.user, worker=worker, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            moved = getattr(leave, "handed_over", 0)
            if moved is None:  # the same form sent again: the first submit recorded it
                messages.info(request, _("This leave had already been recorded."))
                return redirect(worker)
            messages.success(
                request,
                ngettext(
                    "Leave recorded. %(count)d open request was handed over.",
                    "Leave recorded. %(count)d open requests were handed over.",
                    moved,
                )
                % {"count": moved},
            )
            return redirect(worker)
    return render(request, "stations/leave_form.html", {"form": form, "worker": worker})


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications: unread first, then the recently read; POST mark_read reads them all."""
    if request.method == "POST":
        if "mark_read" in request.POST:
            count = notifications_mark_read(user=request.user)
            messages.success(
                request,
                ngettext("%(count)d notification marked read.", "%(count)d notifications marked read.", count)
                % {"count": count},
            )
        return redirect("stations:notification_list")
    page = paginate(request, notifications_for(request.user))
    return render(
        request, "stations/notification_list.html", {"page": page, "query": querystring_without_page(request)}
    )
