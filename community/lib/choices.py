"""Model choices grouped by community, for the selects of a user who sees several (subdistrict staff).

Buildings, categories and workers are per community: a subdistrict's ten communities each have a
"1号楼" and the same category tree, so a flat list repeated "1号楼" ten times with nothing to tell them
apart. With more than one community among the choices, each community's become an <optgroup> labelled
with its name; with one, the list stays flat. The choices are read in one query that joins the
community's name (grouped_by_community)."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIteratorValue
from django.utils.translation import gettext_lazy as _

from community.lib.http import id_param


def by_community(choices: list[tuple[str, object, str]]) -> list:
    """(community name, value, label) rows as choices: one <optgroup> per community when there are
    several, a flat list when there is one."""
    groups: dict[str, list] = {}
    for community, value, label in choices:
        groups.setdefault(community, []).append((value, label))
    if len(groups) > 1:
        return list(groups.items())
    return [choice for group in groups.values() for choice in group]


def choice_rows(queryset, row_columns: tuple[str, ...]):
    """The rows a select's choices are read from: key, community's name and the label's columns."""
    return queryset.values_list("pk", "community__name", *row_columns, named=True)


def grouped_by_community(iterator_class: type[forms.models.ModelChoiceIterator]) -> type:
    """A subclass of a ModelChoiceIterator (Django's, or django-filter's with its "null" choice) that
    reads its choices as rows instead of model instances, and groups them under their community's name
    when they come from more than one.

    The field names the columns its label needs (`row_columns`) and builds the label from a row
    (`label_from_row`); the iterator reads those and the community's name with `values_list`. A request
    list's three filter selects offered ~100 options: as instances (a category with its parent and its
    community: three models each) they were about a fifth of that page's Python. The field's own
    queryset, which validates the submitted value, is untouched. A field given `compiled_rows` (RowChoices)
    reads its rows from there instead."""

    class ByCommunity(iterator_class):
        def __iter__(self):
            # The empty and the null choices come first, outside any group, and at once: a widget that
            # only asks for the first choice (is it empty?) must not run the query.
            if self.field.empty_label is not None:
                yield "", self.field.empty_label
            if getattr(self.field, "null_label", None) is not None:
                yield self.field.null_value, self.field.null_label
            compiled = self.field.compiled_rows
            rows = compiled() if compiled else choice_rows(self.queryset, self.field.row_columns)
            yield from by_community(
                [
                    (
                        row.community__name,
                        ModelChoiceIteratorValue(row.pk, None),
                        self.field.label_from_row(row),
                    )
                    for row in rows
                ]
            )

    ByCommunity.__name__ = f"{iterator_class.__name__}ByCommunity"
    return ByCommunity


class CompiledChoice:
    """A model choice field whose submitted id is looked up by `compiled_get`, when it has one: a function
    that gives the instance of one key from the field's queryset, or None (community.lib.compiled's
    CompiledGet with the user's community bound), instead of building `queryset.get()` on each request.
    Anything but a plain id goes to the field's own validation."""

    compiled_get: Callable[[int], object] | None = None

    def to_python(self, value):
        key = id_param(value) if self.compiled_get is not None and isinstance(value, str) else None
        if key is None:
            return super().to_python(value)
        found = self.compiled_get(key)
        if found is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return found


class CompiledModelChoiceField(CompiledChoice, forms.ModelChoiceField):
    pass


class RowChoices(CompiledChoice):
    """A model select whose choices are read as rows (grouped_by_community): the columns its label needs
    (`row_columns`); each kind of select makes the label from a row in its own `label_from_row`.

    `compiled_rows`: a function that returns those rows, for a user of one community: the rows' query
    compiled once per process (community.lib.compiled.CompiledRows with the community bound), instead of
    being built and compiled on each page (the request list's three selects: ~4 ms of CPU a page).
    `compiled_get`: likewise for validating a submitted id (CompiledChoice)."""

    row_columns: tuple[str, ...] = ()

    def __init__(
        self,
        *args,
        compiled_rows: Callable[[], list] | None = None,
        compiled_get: Callable[[int], object] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.compiled_rows = compiled_rows
        self.compiled_get = compiled_get


class BuildingRows(RowChoices):
    """The row a building's choice is read from, and its label (its number): for the fields of both
    Django's and django-filter's model selects."""

    row_columns: tuple[str, ...] = ("number",)

    def label_from_row(self, row) -> str:
        return row.number


class CommunityModelChoiceField(BuildingRows, forms.ModelChoiceField):
    """A select of buildings, grouped by community for a user who sees several."""

    iterator = grouped_by_community(forms.models.ModelChoiceIterator)


def community_filter_field(communities) -> forms.ModelChoiceField:
    """The "community" select of a list's filters, for a user who sees several communities (subdistrict
    staff): optional, "All communities" first."""
    return forms.ModelChoiceField(
        label=_("Community"),
        queryset=communities,
        required=False,
        empty_label=_("All communities"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
