"""Being built."""

from django.http import Http404


def approval_list(request, *args, **kwargs):
    raise Http404


def booking_check_in(request, *args, **kwargs):
    raise Http404


def booking_decide(request, *args, **kwargs):
    raise Http404


def course_create(request, *args, **kwargs):
    raise Http404


def course_session_create(request, *args, **kwargs):
    raise Http404


def session_attendance(request, *args, **kwargs):
    raise Http404


def space_block(request, *args, **kwargs):
    raise Http404


def today_schedule(request, *args, **kwargs):
    raise Http404


def utilisation(request, *args, **kwargs):
    raise Http404
