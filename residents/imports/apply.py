"""Applying a checked sheet in one transaction, and what the pages show of a batch."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from community.lib.validators import (
    mask_id_number,
    mask_phone,
    nfkc,
)
from residents import services
from residents.choices import ImportStatus
from residents.imports.rows import _check_row, _Context, _messages, _Plan, _Seen
from residents.imports.sheets import ACTIONS, CHECK_STEP, FIELD_LABELS, MAX_ERRORS, NEW, PREVIEW_ROWS, UPDATED
from residents.models import Community, Household, ImportBatch


class _RowsFailed(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _check_all(batch: ImportBatch) -> tuple[list[_Plan], list[dict[str, Any]]]:
    ctx = _Context(batch.community)
    seen = _Seen()
    plans: list[_Plan] = []
    errors: list[dict[str, Any]] = []
    for start in range(0, len(batch.rows), CHECK_STEP):
        chunk = batch.rows[start : start + CHECK_STEP]
        ctx.load_people(chunk)
        for raw in chunk:
            plan, row_errors = _check_row(raw, ctx, seen)
            if plan is not None:
                plans.append(plan)
            errors.extend(row_errors)
    return plans, errors


def _write(*, actor, community: Community, plans: list[_Plan]) -> dict[str, int]:
    summary = {"households_new": 0, "residents_new": 0, "residents_updated": 0, "residents_unchanged": 0}
    created: dict[tuple[int, int, str], Household] = {}
    for plan in plans:
        try:
            household = plan.household or created.get(plan.dwelling)
            if household is None:
                household = services.household_create(
                    actor=actor, building=plan.building, entrance=plan.entrance, room=plan.room
                )
                created[plan.dwelling] = household
                summary["households_new"] += 1
            if plan.action == NEW:
                services.resident_create(actor=actor, community=community, household=household, **plan.fields)
            elif plan.action == UPDATED:
                fields = dict(plan.fields)
                if "household" in fields:
                    fields["household"] = household
                services.resident_update(actor=actor, resident=plan.resident, **fields)
        except ValidationError as exc:
            raise _RowsFailed(
                [
                    {"row": plan.row, "field": name, "message": message}
                    for name, messages in _messages(exc).items()
                    for message in messages
                ]
            ) from exc
        summary[f"residents_{plan.action}"] += 1
    return summary


def import_batch_apply(*, actor, batch: ImportBatch) -> dict[str, int]:
    """Check every row again and write the whole sheet in one transaction, or nothing.

    If rows went stale since the check (someone registered the same ID number meanwhile), the batch
    becomes INVALID with those rows listed, and ValidationError is raised."""
    try:
        with transaction.atomic():
            # Claiming the batch first makes a double submit (or a second tab) a no-op on every database.
            if not ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.READY).update(
                status=ImportStatus.DONE
            ):
                raise ValidationError(_("This import is not ready to be applied."), code="not_ready")
            locked = ImportBatch.objects.select_related("community").get(pk=batch.pk)
            plans, errors = _check_all(locked)
            if errors:
                raise _RowsFailed(errors)
            result = _write(actor=actor, community=locked.community, plans=plans)
            locked.summary = {**locked.summary, **result}
            locked.save(update_fields=["summary"])
    except _RowsFailed as exc:
        # Nothing was written. The batch now shows which rows failed, so the sheet can be corrected.
        ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.READY).update(
            status=ImportStatus.INVALID,
            errors=exc.errors[:MAX_ERRORS],
            summary={**batch.summary, "errors_total": len(exc.errors)},
        )
        batch.refresh_from_db()
        raise ValidationError(
            ngettext(
                "Nothing was imported: %(count)d problem was found while importing. Correct the sheet and "
                "upload it again.",
                "Nothing was imported: %(count)d problems were found while importing. Correct the sheet and "
                "upload it again.",
                len(exc.errors),
            )
            % {"count": len(exc.errors)},
            code="rows_failed",
        ) from exc
    batch.refresh_from_db()
    return result


# ---------------------------------------------------------------------------------------------------------
# For the pages


def import_preview(batch: ImportBatch, limit: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
    """The first rows as the sheet has them, phone and ID masked (they are revealed only with a reason)."""
    actions = batch.summary.get("actions", [])
    preview = []
    for index, raw in enumerate(batch.rows[:limit]):
        action = actions[index] if index < len(actions) else ""
        label, badge = ACTIONS.get(action, ("", "secondary"))
        preview.append(
            raw
            | {
                "phone": mask_phone(nfkc(raw["phone"])),
                "id_number": mask_id_number(nfkc(raw["id_number"]).upper()),
                "action_label": label,
                "action_badge": badge,
            }
        )
    return preview


def import_errors(batch: ImportBatch) -> list[dict[str, Any]]:
    return [error | {"label": FIELD_LABELS.get(error["field"], "")} for error in batch.errors]
