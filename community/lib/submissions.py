"""Forms that create a record carry a submission key (a UUID, unique in the record's table): a second
submit of the same form — a double tap, a resend after a timeout — finds the record the first one made."""

import uuid
from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext as _


def submission_keys(submission_key: uuid.UUID | None, count: int) -> list[uuid.UUID | None]:
    """Keys for the `count` records one submit makes (a weekly run of sessions): the form's own for the
    first, keys derived from it for the others, so that a second submit finds every one of them."""
    if submission_key is None:
        return [None] * count
    return [submission_key] + [uuid.uuid5(submission_key, str(index)) for index in range(1, count)]


def earlier_submissions(
    model: type[Model], keys: list[uuid.UUID | None], community_id: int, *, via: str = ""
) -> list[Model]:
    """The records a form with these keys already created (none: []). A key that made another
    community's record is refused: keys are random, so that is a replayed form, not a double tap.
    `via` names the relation that holds the community when the record has none of its own (a note:
    "request")."""
    keys = [key for key in keys if key is not None]
    if not keys:
        return []
    earlier = model.objects.filter(submission_key__in=keys)
    earlier = list(earlier.select_related(via) if via else earlier)
    for record in earlier:
        owner = getattr(record, via) if via else record
        if owner.community_id != community_id:
            raise ValidationError(_("This form was already used. Open it again."))
    return earlier


def earlier_submission(
    model: type[Model], submission_key: uuid.UUID | None, community_id: int, *, via: str = ""
) -> Model | None:
    """The record a form with this key already created, or None (see earlier_submissions)."""
    earlier = earlier_submissions(model, [submission_key], community_id, via=via)
    return earlier[0] if earlier else None


def save_once(record: Model, earlier: Callable[[], Model | None]) -> tuple[Model, bool]:
    """Save a new record that carries its form's submission key, in a savepoint: (record, created). When
    the key's unique constraint refuses it, the same form's other submit saved it meanwhile (two at
    once): `earlier()` finds that one, which is returned instead."""
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        if (found := earlier()) is None:
            raise
        return found, False
    return record, True


class SubmissionKeyField(forms.UUIDField):
    """The hidden key of a form that creates something: a new one each time the empty form is shown, the
    posted one when the form is shown again with its errors. Optional: a post without a key still works,
    only without the double-submit guard."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("initial", uuid.uuid4)
        super().__init__(**kwargs)
