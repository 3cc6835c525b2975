"""A django-filter FilterSet without its two deep copies per request.

django-filter deep-copies the class's filters for every filterset (each filter's keyword arguments with
them: choices with their lazy labels, widgets, querysets), then builds a form class with a new field for
each filter, whose instance deep-copies those new fields once more. For the request list's 21 filters that
was about a thousand deepcopy() calls, a tenth of the page's CPU. Here a filterset's filters are copied one
level deep — each filter and its keyword arguments, which the filterset may change (a queryset scoped to
the user), while what they hold is shared as it is never changed — and the form keeps the fields made
for it. tests/lib/test_filtersets.py checks that filtersets stay independent of each other."""

import copy

import django_filters
from django_filters.filters import Filter


def _copy(filter_: Filter) -> Filter:
    """A filter of its own for one filterset: its attributes and keyword arguments copied."""
    copied = copy.copy(filter_)
    copied.extra = dict(filter_.extra)
    copied.__dict__.pop("_field", None)  # a field made for another filterset
    if filter_.method is not None:
        copied.method = filter_.method  # the setter binds a FilterMethod to the copy, not to the original
    return copied


class _Filters(dict):
    """The class's filters; FilterSet.__init__ deep-copies them, which copies each one level deep."""

    def __deepcopy__(self, memo) -> dict:
        return {name: _copy(filter_) for name, filter_ in self.items()}


class _FormFields(dict):
    """The fields of a form class made for one filterset: its one form takes them as they are."""

    def __deepcopy__(self, memo) -> dict:
        return dict(self)


class LeanFilterSet(django_filters.FilterSet):
    @classmethod
    def get_filters(cls):
        return _Filters(super().get_filters())

    def get_form_class(self):
        form_class = super().get_form_class()  # a new class, with new fields, for this filterset only
        form_class.base_fields = _FormFields(form_class.base_fields)
        return form_class
