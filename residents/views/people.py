"""Residents: the directory, a resident's page, create and edit, revealing a masked number."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.lib.http import add_service_errors, client_ip, is_stale, paginate, querystring_without_page
from residents import selectors, services
from residents.choices import PersonalField
from residents.forms import DirectorySearchForm, ResidentForm, RevealForm
from residents.models import Enterprise


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_list(request: HttpRequest) -> HttpResponse:
    buildings = selectors.buildings_visible_to(request.user)
    form = DirectorySearchForm(request.GET or None, buildings=buildings)
    filters = form.cleaned_data if form.is_valid() else {}
    residents = selectors.directory(
        request.user,
        text=filters.get("q") or "",
        building_id=filters["building"].pk if filters.get("building") else None,
        tag_id=filters["tag"].pk if filters.get("tag") else None,
    )
    context = {"form": form, "page": paginate(request, residents), "query": querystring_without_page(request)}
    template = "residents/resident_list.html#results" if request.htmx else "residents/resident_list.html"
    return render(request, template, context)


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.get_resident_for(request.user, pk)
    context = {"resident": resident, "revealed": {}, "reveal_form": RevealForm()}
    return render(request, "residents/resident_detail.html", context)


def _form_kwargs(request: HttpRequest, community) -> dict:
    return {
        "households": selectors.households_visible_to(request.user).filter(building__community=community),
        "enterprises": Enterprise.objects.filter(community=community),
    }


@login_required
@permission_required("residents.add_resident", raise_exception=True)
def resident_create(request: HttpRequest) -> HttpResponse:
    community = selectors.home_community_for(request.user)
    if community is None:
        raise PermissionDenied
    initial = {}
    household_id = request.GET.get("household")
    if household_id and household_id.isdigit():
        initial["household"] = household_id
    form = ResidentForm(request.POST or None, initial=initial, **_form_kwargs(request, community))
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            resident = services.resident_create(
                actor=request.user, community=community, care_tags=list(data.pop("care_tags")), **data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Resident %(name)s saved.") % {"name": resident.name})
            return redirect(resident)
    return render(request, "residents/resident_form.html", {"form": form, "resident": None})


@login_required
@permission_required("residents.change_resident", raise_exception=True)
def resident_update(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.get_resident_for(request.user, pk)
    initial = {
        "version": resident.updated_at.isoformat(),
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "household": resident.household_id,
        "relation": resident.relation,
        "employer": resident.employer_id,
        "care_tags": list(resident.care_tags.all()),
        "notes": resident.notes,
    }
    kwargs = _form_kwargs(request, resident.community)
    form = ResidentForm(request.POST or None, initial=initial, editing=resident, **kwargs)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        for field in ("phone", "id_number"):  # blank keeps the stored number
            if not data[field]:
                data.pop(field)
        try:
            resident = services.resident_update(
                actor=request.user, resident=resident, care_tags=list(data.pop("care_tags")), **data
            )
        except ValidationError as exc:
            if is_stale(exc):  # somebody saved first: show them the latest version, lose nothing silently
                messages.error(request, exc.messages[0])
                return redirect("residents:resident_update", pk=pk)
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Resident %(name)s saved.") % {"name": resident.name})
            return redirect(resident)
    return render(request, "residents/resident_form.html", {"form": form, "resident": resident})


@login_required
@require_POST
def resident_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """Reveal one masked number after the user gives a reason; the reveal is logged."""
    if not request.user.has_perm("residents.reveal_personal_data"):
        raise PermissionDenied
    resident = selectors.get_resident_for(request.user, pk)
    if field not in PersonalField.values:
        raise PermissionDenied
    form = RevealForm(request.POST)
    value = None
    if form.is_valid():
        try:
            value = services.personal_data_reveal(
                actor=request.user,
                resident=resident,
                field=field,
                reason=form.cleaned_data["reason"],
                ip_address=client_ip(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
    status = 200 if value is not None else 422
    if request.htmx:
        context = {"resident": resident, "field": field, "value": value, "reveal_form": form}
        return render(request, "residents/_reveal.html", context, status=status)
    context = {"resident": resident, "revealed": {field: value}, "reveal_form": form}
    return render(request, "residents/resident_detail.html", context, status=status)


@login_required
@permission_required("residents.view_personaldataaccess", raise_exception=True)
def access_log(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "residents/access_log.html",
        {"page": paginate(request, selectors.data_access_log(request.user))},
    )
