"""Strings of Django's own that its Simplified Chinese catalogue does not translate (new in Django 6.1).

Naming them here puts them in the project's catalogue, which LOCALE_PATHS makes Django read before its
own: without it every optional <select> of a Chinese page began with "- Select an option -"."""

from django.utils.translation import gettext_noop

DJANGO_STRINGS = (
    gettext_noop("- Select an option -"),  # django.db.models.fields.BLANK_CHOICE_LABEL
    gettext_noop("No %s matches the given query."),  # get_object_or_404's message
)
