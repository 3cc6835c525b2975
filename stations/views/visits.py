"""Walking service (走动式服务): home visits (民情日志), the proactive list (未诉先办) and recurring errands."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from community.lib.http import add_service_errors, id_param, paginate, querystring_without_page
from community.lib.validators import nfkc
from residents.selectors import (
    community_choices,
    get_household_for,
    home_community_for,
    households_visible_to,
    residents_visible_to,
    spans_communities,
)
from stations.choices import Channel
from stations.forms.visits import (
    ErrandForm,
    ProactiveFilterForm,
    RaiseRequestFormSet,
    VisitFilterForm,
    VisitForm,
)
from stations.selectors import visits as selectors
from stations.selectors.desk import worker_of, workers_visible_to
from stations.selectors.requests import categories_for, resident_matches
from stations.services import visits as services


@login_required
@permission_required("stations.add_visit", raise_exception=True)
def visit_create(request: HttpRequest) -> HttpResponse:
    """Record a visit on the phone; up to three requests can be raised from it in the same step.

    Opened without ?household=<id> (the household file and the proactive list link with one), it first
    asks whose home: a search of the community's residents that lists their homes, not a <select> of
    every household (~1,100 at district scale)."""
    worker = worker_of(request.user)
    if worker is None:  # only social workers walk the buildings
        raise PermissionDenied
    households = (
        households_visible_to(request.user)
        .filter(building__community=worker.community)
        .order_by("building__position", "building__number", "entrance", "room")
    )
    fixed = None
    household_id = id_param(request.GET.get("household"))
    if household_id:
        fixed = households.filter(pk=household_id).first()
    if request.method != "POST" and fixed is None:
        text = nfkc(request.GET.get("q", ""))[:100]
        homes = selectors.homes_matching(request.user, worker.community, text)
        return render(request, "stations/visit_form.html", {"q": text, "homes": homes, "worker": worker})
    form = VisitForm(request.POST or None, households=households, fixed_household=fixed)
    formset = RaiseRequestFormSet(
        request.POST or None, prefix="raise", form_kwargs={"categories": categories_for(worker.community)}
    )
    if request.method == "POST" and form.is_valid() & formset.is_valid():  # both, so both show their errors
        data = form.cleaned_data
        specs = [spec for row in formset if (spec := row.as_spec()) is not None]
        try:
            visit, raised = services.visit_create(
                actor=request.user,
                worker=worker,
                household=data["household"],
                visited_at=data["visited_at"],
                met=data["met"],
                found=data["found"],
                action=data["action"],
                submission_key=data["submission_key"],
                raise_requests=specs,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if raised:
                messages.success(
                    request,
                    _("Visit saved. Requests raised: %(references)s.")
                    % {"references": ", ".join(r.reference for r in raised)},
                )
            else:
                messages.success(request, _("Visit saved."))
            return redirect(visit)
    return render(
        request,
        "stations/visit_form.html",
        {"form": form, "formset": formset, "fixed_household": fixed, "worker": worker},
    )


@login_required
@permission_required("stations.view_visit", raise_exception=True)
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.get_visit_for(request.user, pk)
    return render(request, "stations/visit_detail.html", {"visit": visit})


@login_required
@permission_required("stations.view_visit", raise_exception=True)
def visit_list(request: HttpRequest) -> HttpResponse:
    """The visit log (民情日志): a worker sees their own by default and can switch to everybody's."""
    me = worker_of(request.user)
    workers = workers_visible_to(request.user).order_by("community__name", "display_name")
    show_community = spans_communities(request.user)
    communities = community_choices(request.user)
    form = VisitFilterForm(request.GET or None, workers=workers, me=me, communities=communities)
    household_id = form.household_id()
    household = households_visible_to(request.user).filter(pk=household_id).first() if household_id else None
    visits = selectors.visit_log(
        request.user,
        worker=form.selected_worker(),
        household_id=household_id,
        community_id=form.community_id(),
    )
    context = {
        "form": form,
        "household": household,
        "page": paginate(request, visits),
        "query": querystring_without_page(request),
        "me": me,
        "show_community": show_community,
    }
    template = "stations/visit_list.html#results" if request.htmx else "stations/visit_list.html"
    return render(request, template, context)


@login_required
@permission_required("residents.view_household", raise_exception=True)
@require_GET
def household_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """The household file's activity: its requests and visits (an htmx fragment)."""
    household = get_household_for(request.user, pk)
    context = {"household": household, **selectors.household_activity(request.user, household)}
    return render(request, "stations/_household_activity.html", context)


def _raise_link_query(row: dict) -> str:
    title = _("%(category)s recurring in %(building)s") % {
        "category": row["category__name"],
        "building": row["building__number"],
    }
    return urlencode(
        {
            "category": row["category"],
            "building": row["building"],
            "channel": Channel.PROACTIVE,
            "title": title,
        }
    )


@login_required
@permission_required("stations.view_visit", raise_exception=True)
def proactive_list(request: HttpRequest) -> HttpResponse:
    """未诉先办: care-tagged residents whose visit is overdue, and buildings where one problem keeps
    coming back. Each row leads to the step that deals with it."""
    show_community = spans_communities(request.user)
    communities = community_choices(request.user)
    form = ProactiveFilterForm(request.GET or None, communities=communities)
    view = form.value("view")
    community = form.value("community")  # the form has the field only for a user who sees several
    community_id = community.pk if community else None
    me = worker_of(request.user)
    context = {
        "form": form,
        "view": view,
        "me": me,
        "query": querystring_without_page(request),
        "show_community": show_community,
        "community": community,
    }
    if view == ProactiveFilterForm.HOTSPOTS:
        min_count = form.value("min")
        page = paginate(
            request,
            selectors.recurring_hotspots(request.user, min_count=min_count, community_id=community_id),
        )
        for row in page:
            row["raise_query"] = _raise_link_query(row)
        context.update(page=page, min_count=min_count, days=selectors.HOTSPOT_DAYS)
    else:
        residents = selectors.visits_overdue_list(
            request.user, worker=me, mine_only=bool(me and form.value("mine")), community_id=community_id
        )
        page = paginate(request, residents)
        today = timezone.localdate()
        for resident in page:
            resident.days_overdue = selectors.days_overdue(resident.due_at, today)
        context.update(page=page)
    return render(request, "stations/proactive_list.html", context)


@login_required
@permission_required("stations.view_recurringerrand", raise_exception=True)
def errand_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.errand_list(request.user))
    return render(
        request,
        "stations/errand_list.html",
        {"page": page, "query": querystring_without_page(request), "today": timezone.localdate()},
    )


@login_required
@permission_required("stations.add_recurringerrand", raise_exception=True)
def errand_create(request: HttpRequest) -> HttpResponse:
    """Two steps. Without ?resident=<id> (the resident page links with one) the worker first finds the
    person: a search of the community's residents (name, initials, phone tail, 3-2-301; 8 at most), not
    a <select> of every resident (2,700 options, 174 kB at district scale). Then the errand form for
    that resident, who travels as a hidden field and is checked again against the community on POST."""
    community = home_community_for(request.user)
    if community is None:  # subdistrict staff pick no errands: they belong to one community
        raise PermissionDenied
    residents = (
        residents_visible_to(request.user)
        .filter(community=community)
        .prefetch_related(None)
        .order_by("name_pinyin", "pk")
    )
    data = request.POST if request.method == "POST" else request.GET
    resident_id = id_param(data.get("resident"))
    fixed = residents.filter(pk=resident_id).first() if resident_id else None
    if request.method != "POST" and fixed is None:
        text = nfkc(request.GET.get("q", ""))[:100]
        matches = resident_matches(residents, text, care_tags=False)
        return render(request, "stations/errand_form.html", {"q": text, "matches": matches})
    workers = (
        workers_visible_to(request.user).filter(community=community, is_active=True).order_by("display_name")
    )
    form = ErrandForm(
        request.POST or None,
        residents=residents,
        categories=categories_for(community),
        workers=workers,
        fixed_resident=fixed,
    )
    if request.method == "POST" and form.is_valid():
        try:
            errand = services.errand_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Recurring errand “%(title)s” set up; the first request is due on %(date)s.")
                % {"title": errand.title, "date": errand.next_due_on.isoformat()},
            )
            return redirect("stations:errand_list")
    return render(request, "stations/errand_form.html", {"form": form, "fixed_resident": fixed})
