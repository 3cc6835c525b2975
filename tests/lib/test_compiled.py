"""community.lib.compiled.CompiledGet: the ORM's answer, from SQL compiled once."""

import pytest
from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Q

from community.lib.compiled import CompiledGet, CompiledRows
from residents.models import Building
from stations.models import SocialWorker

pytestmark = pytest.mark.django_db


def test_the_same_instances_as_the_orm(worker_a, django_assert_num_queries):
    get = CompiledGet(
        SocialWorker, lambda pk: SocialWorker.objects.select_related("user", "community").filter(pk=pk)
    )
    expected = SocialWorker.objects.select_related("user", "community").get(pk=worker_a.pk)
    with django_assert_num_queries(1):
        found = get(worker_a.pk)
        assert (found.user, found.community) == (expected.user, expected.community)  # joined: no query
    assert type(found) is SocialWorker and found._state.adding is False and found._state.db == "default"
    assert {f.attname: getattr(found, f.attname) for f in SocialWorker._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in SocialWorker._meta.concrete_fields
    }
    assert (
        found.user.last_login == expected.user.last_login
        and found.user.date_joined == expected.user.date_joined
    )
    found.display_name = "renamed"
    found.save()  # a normal instance: it saves where it came from
    assert SocialWorker.objects.get(pk=worker_a.pk).display_name == "renamed"


def test_a_missing_row_is_none_and_the_statement_is_kept(worker_a, django_assert_num_queries):
    get = CompiledGet(User, lambda pk: User.objects.select_related("membership").filter(pk=pk))
    assert get(10**9) is None
    statement = get.statements["default"]
    assert get(worker_a.user.pk) == worker_a.user
    assert get.statements["default"] is statement  # compiled once
    with pytest.raises(TypeError):
        get(str(worker_a.user.pk))  # integers only: they reach the SQL as they are
    with django_assert_num_queries(0):
        assert get(10**30) is None and get(-(10**30)) is None  # beyond any integer column: no row, no query


def test_several_keys_and_annotations(worker_a, worker_b, django_assert_num_queries):
    """Each key goes where its stand-in was; annotations (an Exists here: a converter on SQLite) come
    as the ORM gives them."""
    get = CompiledGet(
        SocialWorker,
        lambda community, pk: SocialWorker.objects.filter(community=community, pk=pk).annotate(
            has_buildings=Exists(Building.objects.filter(responsible_workers=OuterRef("pk"))),
            building_count=Count("buildings"),
        ),
    )
    found = get(worker_a.community_id, worker_a.pk)
    assert (found, found.has_buildings, found.building_count) == (worker_a, True, 1)
    assert get(worker_a.community_id, worker_b.pk) is None  # not of that community
    assert get(worker_b.community_id, worker_b.pk) == worker_b


def test_other_parameters_stay_and_a_key_must_reach_the_sql(worker_a):
    get = CompiledGet(User, lambda pk: User.objects.filter(Q(pk=pk) | Q(username="worker_a")))
    assert get(10**9) == worker_a.user  # the constant is kept
    refused = CompiledGet(
        User, lambda pk: User.objects.filter(pk=-pk)
    )  # the key does not reach the SQL as given
    with pytest.raises(ValueError, match="keys as parameters"):
        refused(1)


def test_rows_of_a_values_list(worker_a, building_a, django_assert_num_queries):
    from stations.models import Category
    from stations.services.categories import categories_seed

    categories_seed(community=worker_a.community)
    ordered = Category.objects.select_related("parent").order_by("parent__name", "name")
    named = CompiledRows(
        Category, lambda c: ordered.filter(community=c).values_list("pk", "parent__name", "name", named=True)
    )
    plain = CompiledRows(Building, lambda c: Building.objects.filter(community=c).values_list("pk", "number"))
    expected = list(
        ordered.filter(community=worker_a.community).values_list("pk", "parent__name", "name", named=True)
    )
    with django_assert_num_queries(1):
        rows = named(worker_a.community_id)
    assert rows == expected and rows[0].name == expected[0].name and len(rows) > 10
    assert plain(worker_a.community_id) == [(building_a.pk, building_a.number)]
    assert plain(10**9) == [] and plain(10**30) == []
