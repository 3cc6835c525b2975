"""Places: communities, buildings, households (一户一档)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from community.lib.http import add_service_errors, id_param, is_stale, paginate
from residents import selectors, services
from residents.forms import HouseholdForm


@login_required
@permission_required("residents.view_community", raise_exception=True)
def community_detail(request: HttpRequest, pk: int) -> HttpResponse:
    community = selectors.get_community_for(request.user, pk)
    stats = selectors.communities_with_counts(request.user).get(pk=community.pk)
    return render(request, "residents/community_detail.html", {"community": community, "stats": stats})


@login_required
@permission_required("residents.view_building", raise_exception=True)
def building_list(request: HttpRequest) -> HttpResponse:
    buildings = selectors.buildings_with_counts(request.user)
    return render(
        request, "residents/building_list.html", {"page": paginate(request, buildings, per_page=50)}
    )


@login_required
@permission_required("residents.view_building", raise_exception=True)
def building_detail(request: HttpRequest, pk: int) -> HttpResponse:
    building = selectors.get_building_for(request.user, pk)
    households = selectors.building_households(building)
    context = {
        "building": building,
        "entrances": selectors.group_by_entrance(households),
        "workers": selectors.responsible_workers(building),
        "enterprises": building.enterprises.all(),
    }
    return render(request, "residents/building_detail.html", context)


@login_required
@permission_required("residents.view_household", raise_exception=True)
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.get_household_for(request.user, pk)
    return render(request, "residents/household_detail.html", {"household": household})


@login_required
@permission_required("residents.add_household", raise_exception=True)
def household_create(request: HttpRequest) -> HttpResponse:
    buildings = selectors.buildings_visible_to(request.user)
    if not buildings.exists():
        raise PermissionDenied
    building_id = id_param(request.GET.get("building"))
    initial = {"building": building_id} if building_id is not None else {}
    form = HouseholdForm(request.POST or None, buildings=buildings, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            household = services.household_create(
                actor=request.user,
                building=data["building"],
                entrance=data["entrance"],
                room=data["room"],
                notes=data["notes"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Household %(household)s saved.") % {"household": household})
            return redirect(household)
    return render(request, "residents/household_form.html", {"form": form, "household": None})


@login_required
@permission_required("residents.change_household", raise_exception=True)
def household_update(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.get_household_for(request.user, pk)
    initial = {
        "version": household.updated_at.isoformat(),
        "entrance": household.entrance,
        "room": household.room,
        "notes": household.notes,
    }
    form = HouseholdForm(request.POST or None, initial=initial, editing=household)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            household = services.household_update(
                actor=request.user,
                household=household,
                version=data["version"],
                entrance=data["entrance"],
                room=data["room"],
                notes=data["notes"],
            )
        except ValidationError as exc:
            if is_stale(exc):
                messages.error(request, exc.messages[0])
                return redirect("residents:household_update", pk=pk)
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Household %(household)s saved.") % {"household": household})
            return redirect(household)
    return render(request, "residents/household_form.html", {"form": form, "household": household})
