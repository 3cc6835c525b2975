"""The one desk's pages: the home page per role and the social workers."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from residents.selectors import communities_with_counts, home_community_for
from stations import selectors
from stations.choices import Role
from stations.roles import user_roles


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """One home page per role: the worker's buildings, the head's community, the subdistrict's
    communities, the resident's own household."""
    roles = user_roles(request.user)
    if not roles and not request.user.is_superuser:
        return render(request, "stations/home_none.html")
    if roles == {Role.RESIDENT}:
        resident = getattr(request.user, "resident", None)
        return render(request, "stations/home_resident.html", {"resident": resident})
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
    workers = selectors.workers_visible_to(request.user).order_by("community__name", "worker_type", "display_name")
    return render(request, "stations/worker_list.html", {"workers": workers})


@login_required
@permission_required("stations.view_socialworker", raise_exception=True)
def worker_detail(request: HttpRequest, pk: int) -> HttpResponse:
    worker = selectors.get_worker_for(request.user, pk)
    return render(request, "stations/worker_detail.html", {"worker": worker})


