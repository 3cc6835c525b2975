"""`ChoiceLabels`: the models' `get_FOO_display()` answered from a table of the field's choices made once.

Django's `Model._get_FIELD_display()` rebuilds a dict of all the field's choices on every call, making
each (value, label) pair hashable: hashing a pair hashes its lazy label, which translates it. A status
with six choices cost 17 µs a call, a request event's kind (ten) 23 µs, against 2–3 µs here, and the
request page shows a dozen of them (its status, urgency, line, channel, each event of its timeline).

Here the table (value → the label as declared, lazy) is made once per field and the one label asked
for is translated when it is read, so the text is Django's, in the language active at that moment. A
field whose choices are a callable (evaluated anew by Django each time), and a value that cannot be a
dict key, go to Django's method. Put it before `models.Model` among a model's bases; it has no fields
and changes no table."""

import functools

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


@functools.cache
def _labels(field: models.Field) -> dict | None:
    """The field's flat choices as {value: label} (Django's keys: make_hashable(value)), or None when
    they come from a callable and so may change."""
    if not isinstance(field.choices, list | tuple):
        return None
    return {make_hashable(value): label for value, label in field.flatchoices}


class ChoiceLabels:
    def _get_FIELD_display(self, field):  # noqa: N802 -- Django's name
        labels = _labels(field)
        if labels is not None:
            value = getattr(self, field.attname)
            try:
                label = labels.get(value, value)
            except TypeError:  # unhashable: Django's make_hashable() would have made it a key
                pass
            else:
                return force_str(label, strings_only=True)
        return super()._get_FIELD_display(field)
