"""Forms that create a record carry a submission key (a UUID, unique in the record's table): a second
submit of the same form — a double tap, a resend after a timeout — finds the record the first one made."""

import uuid

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext as _


def earlier_submission(
    model: type[Model], submission_key: uuid.UUID | None, community_id: int, *, via: str = ""
) -> Model | None:
    """The record a form with this key already created, or None. A key that made another community's
    record is refused: keys are random, so that is a replayed form, not a double tap. `via` names the
    relation that holds the community when the record has none of its own (a note: "request")."""
    if submission_key is None:
        return None
    earlier = model.objects.filter(submission_key=submission_key).first()
    owner = getattr(earlier, via) if earlier is not None and via else earlier
    if owner is not None and owner.community_id != community_id:
        raise ValidationError(_("This form was already used. Open it again."))
    return earlier
