"""community.lib.compiled.CompiledGet: the ORM's answer, from SQL compiled once."""

import pytest
from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Q

from community.lib.compiled import CompiledGet, CompiledRows, _stores_plainly
from community.lib.lookups import like_pattern
from residents.models import Building, Community
from stations.models import SocialWorker
from tests import factories

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


def test_instances_hold_what_from_db_gives_them(worker_a):
    """Built without Model.__init__ (community.lib.compiled._built), an instance and the related ones
    joined to it hold exactly what the ORM's hold: the same values, state and caches."""
    query = lambda pk: SocialWorker.objects.select_related("user__membership", "community").filter(pk=pk)  # noqa: E731
    found, expected = CompiledGet(SocialWorker, query)(worker_a.pk), query(worker_a.pk).get()

    def held(obj, depth=0):
        """Its class, values, state and cached related objects (and theirs, three deep: a reverse cache
        leads back)."""
        state = obj._state
        caches = {
            name: held(value, depth + 1) if value is not None and depth < 3 else value is None
            for name, value in state.fields_cache.items()
        }
        values = {name: value for name, value in vars(obj).items() if name != "_state"}
        return type(obj), values, (state.adding, state.db, state.fetch_mode), caches

    assert held(found) == held(expected)
    assert set(held(found)[3]) == {"user", "community"}
    assert all(map(_stores_plainly, (SocialWorker, User, Community)))  # so this was the short way


def test_a_model_whose_init_is_listened_to_goes_through_from_db(worker_a):
    from django.db.models.signals import post_init

    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance.pk)

    get = CompiledGet(SocialWorker, lambda pk: SocialWorker.objects.filter(pk=pk))
    post_init.connect(listener, sender=SocialWorker)
    try:
        assert get(worker_a.pk) == worker_a
    finally:
        post_init.disconnect(listener, sender=SocialWorker)
    assert seen == [worker_a.pk]
    assert get(worker_a.pk) == worker_a and seen == [worker_a.pk]  # no listener: not through __init__


def test_a_missing_row_is_none_and_the_statement_is_kept(worker_a, django_assert_num_queries):
    get = CompiledGet(User, lambda pk: User.objects.select_related("membership").filter(pk=pk))
    assert get(10**9) is None
    statement = get.statements["default", int]
    assert get(worker_a.user.pk) == worker_a.user
    assert get.statements["default", int] is statement  # compiled once
    with pytest.raises(TypeError):
        get(float(worker_a.user.pk))  # integers, not numbers: they reach the SQL as they are
    with pytest.raises(ValueError):
        get(str(worker_a.user.pk))  # a string key is compiled as a string, which an integer column refuses
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


def test_datetime_keys_and_windows_of_instances(worker_a, django_assert_num_queries):
    """Aware datetimes are keys too (adapted as a DateTimeField adapts them); CompiledList gives a window
    of instances with LIMIT/OFFSET written into the SQL: one compiled statement for every page."""
    import datetime as dt

    from django.utils import timezone

    from community.lib.compiled import CompiledList

    joined = worker_a.user.date_joined
    users = CompiledList(
        User, lambda after, pk: User.objects.filter(date_joined__gte=after, pk__gte=pk).order_by("pk")
    )
    for n in range(3):
        User.objects.create(username=f"later{n}", date_joined=joined + dt.timedelta(hours=n + 1))
    expected = list(User.objects.filter(date_joined__gte=joined).order_by("pk"))
    assert users(joined, 0) == expected
    with django_assert_num_queries(1):
        assert users(joined, 0, offset=1, limit=2) == expected[1:3]
    assert users(joined + dt.timedelta(minutes=90), 0) == expected[2:]  # the key is sent, not the stand-in
    assert users(timezone.now() + dt.timedelta(days=1), 0) == []
    assert len(users.statements) == 1  # every window, every moment: one statement
    window = users.window(joined, 0, count=len(expected))
    assert len(window) == window.count() == len(expected) and window[1:] == expected[1:] and window[9:] == []
    with pytest.raises(TypeError):
        users(joined.replace(tzinfo=None), 0)  # naive: which time would it be?
    with pytest.raises(TypeError):
        window[1]  # windows only
    rows = CompiledRows(
        User, lambda after: User.objects.filter(date_joined__gte=after).values_list("username")
    )
    assert sorted(rows(joined + dt.timedelta(minutes=150))) == [("later2",)]


def test_a_sliced_query_or_a_key_that_is_no_parameter_is_refused(worker_a):
    from community.lib.compiled import CompiledList

    with pytest.raises(ValueError, match="not sliced"):
        CompiledList(User, lambda pk: User.objects.filter(pk=pk)[:5])(worker_a.user.pk)
    with pytest.raises(ValueError, match="keys as parameters"):
        CompiledList(User, lambda pk: User.objects.all())(worker_a.user.pk)


@pytest.mark.postgres
def test_constants_are_written_into_the_sql_on_postgresql(worker_a):
    """On PostgreSQL the queryset's own constants go into the SQL as literals (a generic plan can then use a
    partial index made for them); the keys stay parameters, and the answer is the ORM's. A `%` in a
    constant, quotes and an enum's value survive the quoting."""
    from django.db import connection

    from stations.choices import WorkerType

    odd = User.objects.create_user("it's 100%_sure", password="x" * 12)
    named = CompiledRows(
        User,
        lambda pk: (
            User.objects.filter(Q(pk=pk) | Q(username__startswith="it's 100%"), is_active=True)
            .order_by("pk")
            .values_list("username", flat=False)
        ),
    )
    assert named(worker_a.user.pk) == [(worker_a.user.username,), (odd.username,)]
    ((statement),) = named.statements.values()
    assert statement.params == [-2_147_483_000]  # only the key is sent
    assert "LIKE  E'it''s 100\\\\%%%%'" in statement.sql  # as psycopg quotes it, each % doubled
    workers = CompiledRows(
        SocialWorker,
        lambda community: SocialWorker.objects.filter(
            community=community, worker_type__in=[WorkerType.LIAISON, WorkerType.PROJECT]
        ).values_list("pk"),
    )
    expected = list(
        SocialWorker.objects.filter(
            community=worker_a.community, worker_type__in=[WorkerType.LIAISON, WorkerType.PROJECT]
        ).values_list("pk")
    )
    assert workers(worker_a.community_id) == expected and (worker_a.pk,) in expected
    assert connection.vendor == "postgresql"


def test_string_keys_reach_the_sql_as_they_are(building_a, django_assert_num_queries):
    """Exact, `in` and `like` (community.lib.lookups) take a string key as it is; contains, which escapes
    its value and adds wildcards, cannot be compiled with one: refused when first compiled."""
    factories.BuildingFactory(community=building_a.community, number="2号楼")
    factories.BuildingFactory(community=building_a.community, number="12%号楼")
    rows = CompiledRows(
        Building,
        lambda community, exact, pattern: (
            Building.objects.filter(community=community)
            .filter(Q(number=exact) | Q(number__like=pattern))
            .order_by("number")
            .values_list("number", flat=False)
        ),
    )
    community = building_a.community_id
    assert rows(community, "2号楼", like_pattern("nothing")) == [("2号楼",)]
    with django_assert_num_queries(1):
        assert rows(community, "", like_pattern("%", "%", "%")) == [("12%号楼",)]  # "%" as text
    assert rows(community, "", "%号楼") == [("12%号楼",), (building_a.number,), ("2号楼",)]  # "%" as wildcard
    assert rows(community, "'; --", like_pattern("'", "%", "%")) == []
    refused = CompiledRows(
        Building, lambda text: Building.objects.filter(number__contains=text).values_list("number")
    )
    with pytest.raises(ValueError, match="keys as parameters"):
        refused("2")
