"""The history of changes (django-simple-history) as rows a person can read: for each historical
record, when, who, created/changed/deleted, the reason if any, and each changed field as
"label: old → new" with choice labels, foreign keys as their str and dates in local time.

Phone and ID numbers are masked here, whatever the page: the history must never show a number the
object's own page would mask. Model-free: it reads the historical records' metadata, so the apps'
views only say which fields to leave out and how to fetch related rows.

The number of queries is constant for a page: the count, the page of records (with their user), the
record just older than the page (to diff the page's last entry) and one query per related model whose
value changed on the page.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.core.paginator import Page
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import yesno
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from community.lib.http import paginate
from community.lib.validators import mask_id_number, mask_phone

# Field names (on any model) whose values are shown masked, never in clear.
MASKED_FIELDS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "contact_phone": mask_phone,
    "id_number": mask_id_number,
}
EMPTY = "—"
# Badge colour per history type: created, changed, deleted.
TYPE_BADGE = {"+": "success", "~": "secondary", "-": "danger"}


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    """One historical record as shown: `record` keeps history_date, history_user, history_type."""

    record: models.Model
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def when(self) -> dt.datetime:
        return self.record.history_date

    @property
    def user(self):
        return self.record.history_user

    @property
    def kind(self) -> str:
        return self.record.history_type

    @property
    def kind_label(self) -> str:
        return self.record.get_history_type_display()

    @property
    def badge(self) -> str:
        return TYPE_BADGE.get(self.record.history_type, "secondary")

    @property
    def reason(self) -> str:
        return self.record.history_change_reason or ""


def history_page(
    request: HttpRequest,
    records: QuerySet,
    *,
    hidden: Iterable[str] = (),
    related: Mapping[type[models.Model], QuerySet] | None = None,
    current: models.Model | None = None,
    per_page: int | None = None,
) -> tuple[Page, list[HistoryEntry]]:
    """A page of ``records`` (an object's ``.history`` queryset), newest first, and its entries.

    ``hidden`` names fields never shown (counters, timestamps the entry already has). ``related`` maps a
    related model to the queryset its rows are read from, so their str() needs no further query
    (``{Household: Household.objects.select_related("building")}``); other models use their default manager.
    ``current`` is the object itself as the page loaded it: related rows it already holds are not read again."""
    records = records.select_related("history_user").order_by("-history_date", "-history_id")
    page = paginate(request, records, per_page)
    page_records = list(page.object_list)
    older = _older_than(records, page_records[-1]) if page_records else None
    entries = entries_for(page_records, older=older, hidden=hidden, related=related, current=current)
    return page, entries


def _older_than(records: QuerySet, record: models.Model) -> models.Model | None:
    """The record just before ``record`` in time: what the oldest entry of a page is compared with."""
    return (
        records.select_related(None)
        .filter(
            Q(history_date__lt=record.history_date)
            | Q(history_date=record.history_date, history_id__lt=record.history_id)
        )
        .first()
    )


def entries_for(
    records: Sequence[models.Model],
    *,
    older: models.Model | None = None,
    hidden: Iterable[str] = (),
    related: Mapping[type[models.Model], QuerySet] | None = None,
    current: models.Model | None = None,
) -> list[HistoryEntry]:
    """Entries for ``records`` (newest first); ``older`` is the record before the last one, if any."""
    if not records:
        return []
    hidden = set(hidden)
    fields = [f for f in type(records[0]).tracked_fields if not f.primary_key and f.name not in hidden]
    raw: list[tuple[models.Model, list[tuple[models.Field, object, object]]]] = []
    for index, record in enumerate(records):
        previous = records[index + 1] if index + 1 < len(records) else older
        raw.append((record, _raw_changes(record, previous, fields)))
    names = _related_names(raw, related or {}, _known_names(current, fields))
    return [
        HistoryEntry(
            record=record,
            changes=[
                FieldChange(
                    name=f.name,
                    label=str(f.verbose_name),
                    old=_display(f, old, names),
                    new=_display(f, new, names),
                )
                for f, old, new in changes
            ],
        )
        for record, changes in raw
    ]


def _raw_changes(record, previous, fields: list[models.Field]) -> list[tuple[models.Field, object, object]]:
    if record.history_type == "-":
        return []  # the row is gone; what it held is in the entry before
    if record.history_type == "+" or previous is None:
        # Created (or the first record we have): what it was created with, leaving out empty fields.
        return [
            (f, None, getattr(record, f.attname))
            for f in fields
            if getattr(record, f.attname) not in (None, "")
        ]
    return [
        (f, getattr(previous, f.attname), getattr(record, f.attname))
        for f in fields
        if getattr(previous, f.attname) != getattr(record, f.attname)
    ]


def _known_names(current: models.Model | None, fields: list[models.Field]) -> dict[tuple, str]:
    """{(model, pk): str} of the related rows ``current`` already holds (select_related by its selector)."""
    known: dict[tuple, str] = {}
    if current is None:
        return known
    for f in fields:
        if isinstance(f, models.ForeignKey) and f.is_cached(current):  # one-to-one fields too
            obj = getattr(current, f.name)
            if obj is not None:
                known[(f.related_model, obj.pk)] = _name_of(obj)
    return known


def _related_names(
    raw, related: Mapping[type[models.Model], QuerySet], known: dict[tuple, str]
) -> dict[tuple, str]:
    """{(model, pk): str} for every foreign key value shown on the page: what ``known`` lacks is read with
    one query per related model."""
    wanted: dict[type[models.Model], set] = {}
    for _record, changes in raw:
        for f, old, new in changes:
            if isinstance(f, models.ForeignKey):
                wanted.setdefault(f.related_model, set()).update(
                    v for v in (old, new) if v is not None and (f.related_model, v) not in known
                )
    names = dict(known)
    for model, pks in wanted.items():
        if not pks:
            continue
        queryset = related.get(model, model._default_manager.all())
        for pk, obj in queryset.in_bulk(list(pks)).items():
            names[(model, pk)] = _name_of(obj)
    return names


def _name_of(obj: models.Model) -> str:
    full_name = getattr(obj, "get_full_name", None)  # a user: their name, else their login
    if callable(full_name):
        return full_name() or obj.get_username()
    return str(obj)


def _display(f: models.Field, value, names: dict[tuple, str]) -> str:
    if value is None or value == "":
        return EMPTY
    if f.name in MASKED_FIELDS:
        return MASKED_FIELDS[f.name](str(value))
    if isinstance(f, models.ForeignKey):
        # A row deleted since keeps its number, so the entry still says which one it was.
        return names.get((f.related_model, value)) or _("deleted (#%(pk)s)") % {"pk": value}
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.BooleanField):
        return yesno(value)
    if isinstance(f, models.DateTimeField):
        return date_format(timezone.localtime(value), "Y-m-d H:i")
    if isinstance(f, models.DateField):
        return date_format(value, "Y-m-d")
    return str(value)
