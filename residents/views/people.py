"""Residents: the directory, a resident's page, create and edit, revealing a masked number, erasing a
resident's personal data, exporting the roster."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from community.lib.http import (
    add_service_errors,
    client_ip,
    id_param,
    is_stale,
    paginate,
    querystring_without_page,
)
from community.lib.urls import pk_url_maker
from community.lib.validators import mask_phone, nfkc
from residents import privacy, selectors, services
from residents.choices import PersonalField
from residents.forms import DirectorySearchForm, EraseForm, ExportForm, ResidentForm, RevealForm
from residents.models import Enterprise, Resident


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_list(request: HttpRequest) -> HttpResponse:
    # The building filter shows numbers, grouped by community for a user who sees several.
    buildings = selectors.buildings_visible_to(request.user).only("number", "community__name")
    show_community = selectors.spans_communities(request.user)
    communities = selectors.community_choices(request.user)
    form = DirectorySearchForm(
        request.GET or None,
        buildings=buildings,
        building_rows=selectors.building_choice_rows(request.user),
        communities=communities,
    )
    form.is_valid()
    # The valid ones (none when nothing was asked): a junk building id does not drop the search text.
    filters = getattr(form, "cleaned_data", {})
    found = selectors.directory_found(
        request.user,
        text=filters.get("q") or "",
        building_id=filters["building"].pk if filters.get("building") else None,
        tag_id=filters["tag"].pk if filters.get("tag") else None,
        community_id=filters["community"].pk if filters.get("community") else None,
    )
    page = paginate(request, found.rows, count=found.count)  # counted without the rows' joined columns
    tags_of = selectors.care_tags_by_resident([row.pk for row in page])
    url_of = pk_url_maker("residents:resident_detail")
    context = {
        "form": form,
        "page": page,
        "rows": [_directory_row(row, tags_of[row.pk], show_community, url_of) for row in page],
        "query": querystring_without_page(request),
    }
    template = "residents/resident_list.html#results" if request.htmx else "residents/resident_list.html"
    return render(request, template, context)


def _directory_row(row, care_tags: list[tuple], show_community: bool, url_of) -> dict:
    """What a row of the directory shows, as a dict (the template engine reads a dict's keys at once), from
    a row of selectors.directory_rows: the community only for a user who sees several."""
    address = None
    if row.household_id:
        dwelling = _("entrance %(e)s, room %(room)s") % {"e": row.entrance, "room": row.room}
        address = f"{row.building_number} {dwelling}"  # escaped by the template
    return {
        "url": url_of(row.pk),
        "name": row.name,
        "care_tags": care_tags,
        "address": address,
        "community": row.community_name if show_community else None,
        "masked_phone": mask_phone(row.phone),  # never the number itself
    }


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.get_resident_for(request.user, pk)
    context = {
        "resident": resident,
        "revealed": {},
        "reveal_form": RevealForm(),
        "erasure": selectors.erasure_record(resident) if resident.erased_at else None,
    }
    return render(request, "residents/resident_detail.html", context)


def _refused_as_erased(request: HttpRequest, resident: Resident) -> HttpResponse:
    """An erased resident's page, with the reason a change or a reveal was refused."""
    messages.error(
        request,
        _("This resident's personal data was erased; the record can no longer be changed or revealed."),
    )
    if request.htmx:
        return HttpResponseClientRedirect(resident.get_absolute_url())
    return redirect(resident)


def _form_kwargs(request: HttpRequest, community) -> dict:
    return {
        "households": selectors.households_visible_to(request.user).filter(building__community=community),
        "enterprises": Enterprise.objects.filter(community=community),
        "home_check_url": reverse("residents:home_check", args=[community.pk]),
    }


@login_required
@permission_required("residents.view_household", raise_exception=True)
@require_GET
def home_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The resident form's live answer under its home field: which home the typed address is (with who
    lives there), or that there is none. An htmx fragment; the form checks again when it is saved."""
    community = selectors.get_community_for(request.user, pk)
    text = request.GET.get("household", "")[:64]
    households = selectors.households_visible_to(request.user).filter(building__community=community)
    homes = selectors.homes_at(households, text)
    context = {"text": nfkc(text), "homes": homes, "community": community}
    if len(homes) == 1:
        context["members"] = selectors.member_names(homes[0])
    return render(request, "residents/_home_check.html", context)


@login_required
@permission_required("residents.add_resident", raise_exception=True)
def resident_create(request: HttpRequest) -> HttpResponse:
    community = selectors.home_community_for(request.user)
    if community is None:
        raise PermissionDenied
    kwargs = _form_kwargs(request, community)
    initial = {}
    household_id = id_param(request.GET.get("household"))  # "add a member" on a household's page
    if household_id is not None:
        initial["household"] = kwargs["households"].filter(pk=household_id).first()
    form = ResidentForm(request.POST or None, initial=initial, **kwargs)
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
    if resident.erased_at is not None:
        return _refused_as_erased(request, resident)
    initial = {
        "version": resident.updated_at.isoformat(),
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "household": resident.household,
        "relation": resident.relation,
        "employer": resident.employer_id,
        "care_tags": list(resident.care_tags.all()),
        "notes": resident.notes,
        "legal_basis": resident.legal_basis,
        "consent_date": resident.consent_date,
        "guardian_name": resident.guardian_name,
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
            if _is_erased(exc):  # erased while the form was open
                return _refused_as_erased(request, resident)
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
    if resident.erased_at is not None:
        return _refused_as_erased(request, resident)
    form = RevealForm(request.POST)
    value = None
    if form.is_valid():
        try:
            value = privacy.personal_data_reveal(
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


def _is_erased(exc: ValidationError) -> bool:
    return not hasattr(exc, "error_dict") and any(e.code == "erased" for e in exc.error_list)


@login_required
@permission_required("residents.erase_resident", raise_exception=True)
@require_http_methods(["GET", "POST"])
def resident_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what erasure does, and a form asking why. POST: erase (residents.services.resident_erase)."""
    resident = selectors.get_resident_for(request.user, pk)
    if resident.erased_at is not None:
        messages.info(request, _("This resident's personal data is already erased."))
        return redirect(resident)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.resident_erase(actor=request.user, resident=resident, reason=form.cleaned_data["reason"])
        except PermissionError:
            raise PermissionDenied from None
        except ValidationError as exc:
            if _is_erased(exc):  # a second head erased first
                return redirect(resident)
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The resident's personal data was erased."))
            return redirect(resident)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "residents/resident_erase.html", {"resident": resident, "form": form}, status=status
    )


@login_required
@permission_required("residents.export_personal_data", raise_exception=True)
@require_http_methods(["GET", "POST"])
def resident_export(request: HttpRequest) -> HttpResponse:
    """GET: the directory's filters, how many residents they give, and a form asking why and how.
    POST: the file (residents.privacy.personal_data_export logs it)."""
    community = selectors.home_community_for(request.user)
    if community is None:  # the roster is one community's; subdistrict staff and superusers have none
        raise PermissionDenied
    buildings = selectors.buildings_visible_to(request.user).filter(community=community)
    can_unmask = request.user.has_perm("residents.reveal_personal_data")
    if request.method == "POST":
        form = ExportForm(request.POST, buildings=buildings, can_unmask=can_unmask)
        if form.is_valid():
            try:
                _log, export = privacy.personal_data_export(
                    actor=request.user,
                    community=community,
                    file_format=form.cleaned_data["file_format"],
                    reason=form.cleaned_data["reason"],
                    unmasked=form.cleaned_data.get("unmasked", False),
                    text=form.cleaned_data["q"],
                    building=form.cleaned_data["building"],
                    tag=form.cleaned_data["tag"],
                    ip_address=client_ip(request),
                )
            except PermissionError:
                raise PermissionDenied from None
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                response = HttpResponse(export.content, content_type=export.content_type)
                response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
                response["Cache-Control"] = "no-store"  # personal data: no copy in any cache
                return response
        filters = {key: form.cleaned_data.get(key) for key in ("q", "building", "tag")}
    else:
        search = DirectorySearchForm(request.GET, buildings=buildings)
        filters = search.cleaned_data if search.is_valid() else {}
        form = ExportForm(initial=filters, buildings=buildings, can_unmask=can_unmask)
    count = selectors.export_roster(
        request.user,
        community,
        text=filters.get("q") or "",
        building_id=filters["building"].pk if filters.get("building") else None,
        tag_id=filters["tag"].pk if filters.get("tag") else None,
    ).count()
    context = {"form": form, "filters": filters, "count": count, "community": community}
    status = 422 if request.method == "POST" else 200
    return render(request, "residents/resident_export.html", context, status=status)


@login_required
@permission_required("residents.view_personaldataaccess", raise_exception=True)
def access_log(request: HttpRequest) -> HttpResponse:
    """Reveals and exports of personal data in the user's communities: two tabs, each paginated."""
    tab = "exports" if request.GET.get("tab") == "exports" else "reveals"
    if tab == "exports":
        if not request.user.has_perm("residents.view_personaldataexport"):
            raise PermissionDenied
        log = selectors.data_export_log(request.user)
    else:
        log = selectors.data_access_log(request.user)
    context = {
        "tab": tab,
        "page": paginate(request, log),
        "query": f"tab={tab}",
        "can_see_exports": request.user.has_perm("residents.view_personaldataexport"),
    }
    return render(request, "residents/access_log.html", context)
