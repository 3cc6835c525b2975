"""community.lib.auth.ModelBackend: the same answers as Django's, in one query."""

import pytest
from django.contrib.auth.models import Group, Permission, User

pytestmark = pytest.mark.django_db


def perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def test_own_and_group_permissions_in_one_query(django_assert_num_queries):
    user = User.objects.create_user("worker-x", password="x" * 12)
    group = Group.objects.create(name="desk-x")
    group.permissions.add(perm("view_servicerequest"))
    user.groups.add(group)
    user.user_permissions.add(perm("add_visit"))
    user = User.objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert user.has_perm("stations.view_servicerequest")
        assert user.has_perm("stations.add_visit")
        assert not user.has_perm("stations.change_booking")
        assert user.get_all_permissions() == {"stations.view_servicerequest", "stations.add_visit"}


def test_inactive_and_superuser():
    inactive = User.objects.create_user("gone-x", password="x" * 12, is_active=False)
    inactive.user_permissions.add(perm("add_visit"))
    assert not User.objects.get(pk=inactive.pk).has_perm("stations.add_visit")
    root = User.objects.create_superuser("root-x", password="x" * 12)
    assert root.has_perm("stations.change_booking")
    assert "residents.view_resident" in root.get_all_permissions()


def test_only_the_users_own_groups_count_and_overlaps_appear_once():
    user = User.objects.create_user("worker-y", password="x" * 12)
    mine, theirs = Group.objects.create(name="desk-y"), Group.objects.create(name="heads-y")
    mine.permissions.add(perm("view_servicerequest"), perm("add_visit"))
    theirs.permissions.add(perm("change_booking"))
    User.objects.create_user("head-y", password="x" * 12).groups.add(theirs)
    user.groups.add(mine)
    user.user_permissions.add(perm("add_visit"))  # also through the group
    user = User.objects.get(pk=user.pk)
    assert user.get_all_permissions() == {"stations.view_servicerequest", "stations.add_visit"}
    assert not user.has_perm("stations.change_booking")


def test_the_session_user_comes_with_the_membership(worker_a, django_assert_num_queries):
    from community.lib.auth import ModelBackend
    from residents.selectors import communities_visible_to

    with django_assert_num_queries(1):
        user = ModelBackend().get_user(worker_a.user.pk)
        assert user.membership.community_id == worker_a.community_id  # joined: no second query
    root = User.objects.create_superuser("root-z", password="x" * 12)  # no membership: none joined
    assert list(communities_visible_to(ModelBackend().get_user(root.pk))) == list(
        communities_visible_to(root)
    )
    inactive = User.objects.create_user("gone-z", password="x" * 12, is_active=False)
    assert ModelBackend().get_user(inactive.pk) is None and ModelBackend().get_user(10**9) is None


def test_the_session_user_comes_with_their_worker_profile(worker_a, head_a, django_assert_num_queries):
    """worker_of() answers from the session's user without a query: the profile (and its community) is
    joined, or known to be absent; a user read some other way is still answered, with a query."""
    from community.lib.auth import ModelBackend
    from stations.selectors.desk import worker_of

    with django_assert_num_queries(1):
        user = ModelBackend().get_user(worker_a.user.pk)
        assert worker_of(user) == worker_a
        assert worker_of(user).community == worker_a.community
    head = ModelBackend().get_user(head_a.pk)
    with django_assert_num_queries(0):
        assert worker_of(head) is None
    plain = User.objects.get(pk=worker_a.user.pk)
    with django_assert_num_queries(1):
        found = worker_of(plain)
        assert (found, found.community) == (worker_a, worker_a.community)


def test_the_session_user_comes_with_their_permissions(worker_a, head_a, django_assert_num_queries):
    """The session's user is read with their permissions, own and their groups', overlaps once: checking
    them costs no query, and they are what a user read otherwise has."""
    from community.lib.auth import ModelBackend

    worker_a.user.user_permissions.add(perm("add_visit"))
    extra = Group.objects.create(name="extra-z")
    extra.permissions.add(perm("change_booking"))
    head_a.groups.add(extra)
    bare = User.objects.create_user("bare-z", password="x" * 12)
    for user in (worker_a.user, head_a, bare):
        with django_assert_num_queries(1):
            session_user = ModelBackend().get_user(user.pk)
            names = session_user.get_all_permissions()
            session_user.has_perm("stations.add_visit")
        assert names == User.objects.get(pk=user.pk).get_all_permissions()
    assert "stations.change_booking" in ModelBackend().get_user(head_a.pk).get_all_permissions()
    assert ModelBackend().get_user(bare.pk).get_all_permissions() == set()
    root = User.objects.create_superuser("root-w", password="x" * 12)
    assert "residents.view_resident" in ModelBackend().get_user(root.pk).get_all_permissions()
