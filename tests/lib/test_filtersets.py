"""community.lib.filtersets.LeanFilterSet: filtersets copied one level deep stay independent of each other
and of their class, and their methods still reach their own filterset."""

import pytest
from django.http import QueryDict

from stations.filters import ServiceRequestFilter
from stations.selectors.requests import requests_visible_to

pytestmark = pytest.mark.django_db


def test_each_filterset_has_its_own_filters_and_fields(worker_a, worker_b, head_a):
    first = ServiceRequestFilter(QueryDict("q=灯&sort=deadline"), requests_visible_to(head_a), user=head_a)
    second = ServiceRequestFilter(QueryDict("q=水"), requests_visible_to(worker_b.user), user=worker_b.user)
    base = ServiceRequestFilter.base_filters
    for name in base:
        assert first.filters[name] is not base[name] and first.filters[name] is not second.filters[name]
        assert first.filters[name].extra is not base[name].extra
        assert first.filters[name].parent is first and second.filters[name].parent is second
    # Each is scoped to its own user's community, and the class's filters to nobody's.
    assert list(first.filters["building"].queryset) == [worker_a.buildings.get()]
    assert list(second.filters["building"].queryset) == [worker_b.buildings.get()]
    assert base["building"].queryset.model.objects.none().query.is_empty()
    assert "compiled_rows" not in base["building"].extra
    # Methods named by string run on their own filterset (filter_text reads its own value).
    assert first.is_valid() and second.is_valid()
    assert first.form.cleaned_data["q"] == "灯" and second.form.cleaned_data["q"] == "水"
    assert first.filters["q"].filter.f is first.filters["q"]
    assert "灯" in str(first.qs.query) and "水" in str(second.qs.query)
    # Each form has fields of its own.
    assert first.form.fields["building"] is not second.form.fields["building"]
    assert first.form.fields["building"].queryset.model is second.form.fields["building"].queryset.model
