"""The history of changes of a resident and of a household, for the committee head (issue #7)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from community.lib.history import history_page
from residents import selectors
from residents.models import Household

# The entry's own time says when a row was created.
HIDDEN = ("created_at",)
# Household.__str__ names the building: read it in the same query.
RELATED = {Household: Household.objects.select_related("building")}


@login_required
@permission_required("residents.view_historicalresident", raise_exception=True)
def resident_history(request: HttpRequest, pk: int) -> HttpResponse:
    resident = selectors.get_resident_for(request.user, pk)
    page, entries = history_page(
        request, resident.history.all(), hidden=HIDDEN, related=RELATED, current=resident
    )
    context = {"resident": resident, "page": page, "entries": entries}
    return render(request, "history/resident_history.html", context)


@login_required
@permission_required("residents.view_historicalhousehold", raise_exception=True)
def household_history(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.get_household_for(request.user, pk)
    page, entries = history_page(
        request, household.history.all(), hidden=HIDDEN, related=RELATED, current=household
    )
    context = {"household": household, "page": page, "entries": entries}
    return render(request, "history/household_history.html", context)
