"""Being built."""

from django.http import Http404


def booking_cancel(request, *args, **kwargs):
    raise Http404


def booking_create(request, *args, **kwargs):
    raise Http404


def booking_series(request, *args, **kwargs):
    raise Http404


def course_detail(request, *args, **kwargs):
    raise Http404


def course_enrol(request, *args, **kwargs):
    raise Http404


def course_leave(request, *args, **kwargs):
    raise Http404


def course_list(request, *args, **kwargs):
    raise Http404


def own_bookings(request, *args, **kwargs):
    raise Http404


def space_feed(request, *args, **kwargs):
    raise Http404


def space_list(request, *args, **kwargs):
    raise Http404


def space_photo(request, *args, **kwargs):
    raise Http404


def space_week(request, *args, **kwargs):
    raise Http404
