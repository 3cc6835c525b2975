def test_roles_exist(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"social_worker", "committee_head"}


def test_personas(worker_a, head_a, resident_user_a, worker_b):
    assert worker_a.community != worker_b.community
