"""Writes about residents' personal data (PIPL): revealing a masked number, erasing a resident, exporting
the roster. Each one is checked against the actor's permission and scope, and logged."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from community.lib.validators import clean_text, nfkc
from residents import exports
from residents.choices import PersonalField
from residents.models import (
    Building,
    CareTag,
    Community,
    PersonalDataAccess,
    PersonalDataExport,
    Resident,
)
from residents.selectors import ERASED, export_roster, sees_community
from residents.services import refuse_erased


def personal_data_reveal(
    *, actor, resident: Resident, field: str, reason: str, ip_address: str | None
) -> str:
    """Show one masked value to a user allowed to see it, and log who saw whose, why and from where."""
    if not actor.has_perm("residents.reveal_personal_data"):
        raise PermissionError
    # The permission says "may reveal", the scope says "whose": a head of A never reveals B's residents.
    if not sees_community(actor, resident.community_id):
        raise PermissionError
    if field not in PersonalField.values:
        raise ValidationError(_("Unknown field."), code="bad_field")
    refuse_erased(resident)
    reason = clean_text(reason, max_length=200)
    if len(reason) < 2:
        raise ValidationError(
            {"reason": ValidationError(_("Say why you need to see this number."), code="reason_required")}
        )
    PersonalDataAccess.objects.create(
        actor=actor, resident=resident, field=field, reason=reason, ip_address=ip_address
    )
    return getattr(resident, field)


# --- Erasure (PIPL art. 47) ------------------------------------------------------------------------------

ERASE_REASON_MAX_LENGTH = 90  # history_change_reason holds 100 characters, "erased: " included

ErasureHook = Callable[..., None]
# Other apps that keep a resident's personal data (stations: the contact name and phone on service
# requests) register hook(*, resident, actor) here from their AppConfig.ready(), because residents never
# imports them. resident_erase calls every hook inside its transaction: a hook that raises undoes it all.
ERASURE_HOOKS: list[ErasureHook] = []


def register_erasure_hook(hook: ErasureHook) -> None:
    if hook not in ERASURE_HOOKS:
        ERASURE_HOOKS.append(hook)


def erased_name(pk: int) -> str:
    """The name an erased resident keeps, in the site's language whatever the eraser's: 已删除居民 #12."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Erased resident #%(pk)s") % {"pk": pk}


def _check_reason(reason: str, *, max_length: int, message: str) -> str:
    try:
        reason = clean_text(reason, max_length=max_length)
    except ValidationError as exc:
        raise ValidationError({"reason": exc}) from None
    if len(reason) < 2:
        raise ValidationError({"reason": ValidationError(message, code="reason_required")})
    return reason


@transaction.atomic
def resident_erase(*, actor, resident: Resident, reason: str) -> Resident:
    """Anonymise a resident for good: the personal fields go, from the row and from every history row;
    the row stays with its household, community, gender and birth year, so requests, bookings and every
    statistic stay whole. The login is unlinked and closed. A last history entry records who erased,
    when and why. Reveal log rows stay: they record what happened.

    The consent date stays when the basis was consent: the model requires a dated consent
    (constraint resident_consent_dated), and it names nobody."""
    if not actor.has_perm("residents.erase_resident"):
        raise PermissionError
    if not sees_community(actor, resident.community_id):
        raise PermissionError
    reason = _check_reason(
        reason,
        max_length=ERASE_REASON_MAX_LENGTH,
        message=_("Say why this resident's data is erased (e.g. their request of 3 May)."),
    )
    locked = Resident.objects.select_for_update().get(pk=resident.pk)
    refuse_erased(locked)
    scrubbed: dict[str, Any] = {
        "name": erased_name(locked.pk),
        "phone": "",
        "id_number": "",
        "notes": "",
        "guardian_name": "",
        # The birth year survives for the age statistics; the day that identifies does not.
        "birth_date": locked.birth_date.replace(month=1, day=1) if locked.birth_date else None,
        "user": None,
    }
    # Earlier versions would otherwise keep everything the erasure removes.
    locked.history.all().update(**scrubbed)
    for hook in list(ERASURE_HOOKS):
        hook(resident=locked, actor=actor)
    login = locked.user
    for field, value in scrubbed.items():
        setattr(locked, field, value)
    locked.name_pinyin = locked.name_initials = ""
    locked.erased_at = timezone.now()
    locked._change_reason = f"{ERASED}: {reason}"
    locked._history_user = actor  # also outside a request (a management command)
    locked.save()
    locked.care_tags.clear()  # care tags are health and welfare data
    if login is not None:
        login.is_active = False
        login.first_name = login.last_name = login.email = ""
        login.set_unusable_password()
        login.save(update_fields=["is_active", "first_name", "last_name", "email", "password"])
    return locked


# --- Exports of personal data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes
    row_count: int


def _filters_summary(text: str, building: Building | None, tag: CareTag | None) -> str:
    parts = []
    if text:
        parts.append(_("search: %(text)s") % {"text": text})
    if building is not None:
        parts.append(_("building: %(building)s") % {"building": building.number})
    if tag is not None:
        parts.append(_("care tag: %(tag)s") % {"tag": tag.name})
    return "; ".join(parts)[:200]


@transaction.atomic
def personal_data_export(
    *,
    actor,
    community: Community,
    file_format: str,
    reason: str,
    unmasked: bool = False,
    text: str = "",
    building: Building | None = None,
    tag: CareTag | None = None,
    ip_address: str | None = None,
) -> tuple[PersonalDataExport, ExportFile]:
    """The community's roster, filtered like the directory, as an .xlsx or .csv file; every export is
    logged (who, what, how many rows, numbers in clear or not, why, from where). Phone and ID numbers
    are masked unless the user may also reveal them and asked for them in clear."""
    if not actor.has_perm("residents.export_personal_data"):
        raise PermissionError
    if unmasked and not actor.has_perm("residents.reveal_personal_data"):
        raise PermissionError
    if not sees_community(actor, community.pk, community.subdistrict_id):
        raise PermissionError
    if file_format not in exports.FORMATS:
        raise ValidationError({"file_format": ValidationError(_("Choose .xlsx or .csv."), code="invalid")})
    if building is not None and building.community_id != community.pk:
        raise ValidationError({"building": _("This building belongs to another community.")})
    reason = _check_reason(reason, max_length=200, message=_("Say why you need this export."))
    text = nfkc(text)[:100]
    residents = list(
        export_roster(
            actor,
            community,
            text=text,
            building_id=building.pk if building else None,
            tag_id=tag.pk if tag else None,
        )
    )
    content = exports.write(file_format, exports.roster_table(residents, unmasked=unmasked))
    log = PersonalDataExport.objects.create(
        actor=actor,
        community=community,
        file_format=file_format,
        row_count=len(residents),
        unmasked=unmasked,
        filters=_filters_summary(text, building, tag),
        reason=reason,
        ip_address=ip_address,
    )
    filename = f"residents-{community.code}-{timezone.localdate():%Y%m%d}.{file_format}"
    return log, ExportFile(filename, exports.CONTENT_TYPES[file_format], content, len(residents))
