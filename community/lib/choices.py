"""Model choices grouped by community, for the selects of a user who sees several (subdistrict staff).

Buildings, categories and workers are per community: a subdistrict's ten communities each have a
"1号楼" and the same category tree, so a flat list repeated "1号楼" ten times with nothing to tell them
apart. With more than one community among the choices, each community's become an <optgroup> labelled
with its name; with one, the list stays flat. The queryset must have the community joined
(select_related("community")) so grouping adds no query."""

from django import forms
from django.utils.translation import gettext_lazy as _


def by_community(choices: list[tuple[str, object, str]]) -> list:
    """(community name, value, label) rows as choices: one <optgroup> per community when there are
    several, a flat list when there is one."""
    groups: dict[str, list] = {}
    for community, value, label in choices:
        groups.setdefault(community, []).append((value, label))
    if len(groups) > 1:
        return list(groups.items())
    return [choice for group in groups.values() for choice in group]


def grouped_by_community(iterator_class: type[forms.models.ModelChoiceIterator]) -> type:
    """A subclass of a ModelChoiceIterator (Django's, or django-filter's with its "null" choice) whose
    model choices are grouped under their community's name when they come from more than one."""

    class ByCommunity(iterator_class):
        def __iter__(self):
            rows = []
            for value, label in super().__iter__():
                instance = getattr(value, "instance", None)
                if instance is None:
                    # The empty and the null choices come first, outside any group, and at once: a widget
                    # that only asks for the first choice (is it empty?) must not run the query.
                    yield value, label
                else:
                    rows.append((instance.community.name, value, label))
            yield from by_community(rows)

    ByCommunity.__name__ = f"{iterator_class.__name__}ByCommunity"
    return ByCommunity


class CommunityModelChoiceField(forms.ModelChoiceField):
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
