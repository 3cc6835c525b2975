"""The history of changes of a service request and of a booking, for the committee head (issue #7)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from community.lib.history import history_page
from residents.models import Household
from stations.models import Visit
from stations.selectors import requests as request_selectors
from stations.selectors import space_admin

# The optimistic-lock counter is bookkeeping, not a change anyone made.
REQUEST_HIDDEN = ("version",)
BOOKING_HIDDEN = ("created_at",)
# str() of a household or a visit names its building: read it in the same query.
RELATED = {
    Household: Household.objects.select_related("building"),
    Visit: Visit.objects.select_related("household__building", "building"),
}


@login_required
@permission_required("stations.view_historicalservicerequest", raise_exception=True)
def request_history(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = request_selectors.get_request_for(request.user, pk)
    page, entries = history_page(
        request,
        service_request.history.all(),
        hidden=REQUEST_HIDDEN,
        related=RELATED,
        current=service_request,
    )
    context = {"sr": service_request, "page": page, "entries": entries}
    return render(request, "history/request_history.html", context)


@login_required
@permission_required("stations.view_historicalbooking", raise_exception=True)
def booking_history(request: HttpRequest, pk: int) -> HttpResponse:
    booking = space_admin.get_staff_booking_for(request.user, pk)
    page, entries = history_page(
        request, booking.history.all(), hidden=BOOKING_HIDDEN, related=RELATED, current=booking
    )
    context = {"booking": booking, "page": page, "entries": entries}
    return render(request, "history/booking_history.html", context)
