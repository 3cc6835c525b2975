"""Forms accept only their declared fields: whatever else a client posts (status, assignee, another
community, who logged it) changes nothing. Issue #7, "Access"."""

import uuid

import pytest
from django.urls import reverse

from stations.choices import Channel, Satisfaction, Status
from stations.models import Category, ServiceRequest
from stations.services.categories import categories_seed
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


def _smuggled(*, worker, community, head) -> dict:
    """Fields no form of a resident or a worker declares, pointing somewhere they must not."""
    return {
        "status": Status.CLOSED,
        "assignee": worker.pk,
        "community": community.pk,
        "created_by": head.pk,
        "reference": "FAKE-1",
        "token": "a" * 32,
        "satisfaction": Satisfaction.SATISFIED,
        "solved": "true",
        "accepted_at": "2020-01-01T00:00:00Z",
        "resolution_due_at": "2099-01-01T00:00:00Z",
        "version": "99",
    }


def test_a_resident_posting_status_or_assignee_changes_nothing(
    as_user, resident_user_a, resident_a, medicine, worker_a, worker_b, community_b, head_a
):
    data = {"submission_key": str(uuid.uuid4()), "category": medicine.pk, "title": "帮忙开降压药"}
    data |= _smuggled(worker=worker_b, community=community_b, head=head_a)
    data["channel"] = Channel.HOTLINE
    data["requester"] = factories.ResidentFactory(community=community_b).pk
    response = as_user(resident_user_a).post(reverse("stations:own_request_create"), data)
    assert response.status_code == 302
    sr = ServiceRequest.objects.get()
    assert sr.status == Status.NEW
    assert sr.assignee == worker_a  # routed by the building, not by the post
    assert sr.community == resident_a.community
    assert sr.requester == resident_a
    assert sr.created_by == resident_user_a
    assert sr.channel == Channel.ONLINE
    assert sr.reference != "FAKE-1" and sr.token != "a" * 32
    assert sr.satisfaction == "" and sr.solved is None and sr.accepted_at is None
    assert sr.version == 1


def test_a_worker_posting_status_or_assignee_at_intake_changes_nothing(
    as_user, worker_a, worker_b, resident_a, medicine, community_b, head_a
):
    data = {
        "submission_key": str(uuid.uuid4()),
        "channel": Channel.PHONE,
        "urgency": "normal",
        "title": "楼道灯坏了",
        "requester": resident_a.pk,
        "category": medicine.pk,
    }
    data |= _smuggled(worker=worker_b, community=community_b, head=head_a)
    response = as_user(worker_a.user).post(reverse("stations:request_create"), data)
    assert response.status_code == 302
    sr = ServiceRequest.objects.get()
    assert (sr.status, sr.assignee, sr.community, sr.created_by) == (
        Status.NEW,
        worker_a,
        resident_a.community,
        worker_a.user,
    )
    assert sr.reference != "FAKE-1" and sr.satisfaction == "" and sr.accepted_at is None


def test_a_resident_rating_cannot_set_status_or_reassign(
    as_user, resident_user_a, resident_a, medicine, worker_a
):
    from stations.services.requests import service_request_create, service_request_transition

    sr, _ = service_request_create(
        actor=resident_user_a,
        community=resident_a.community,
        category=medicine,
        title="帮忙开降压药",
        requester=resident_a,
        channel=Channel.ONLINE,
    )
    for status in (Status.ACCEPTED, Status.RESOLVED):
        sr = service_request_transition(service_request=sr, to_status=status, actor=worker_a.user)
    other_worker = factories.make_worker(community=resident_a.community, username="other_worker")
    response = as_user(resident_user_a).post(
        reverse("stations:own_request_rate", kwargs={"token": sr.token}),
        {
            "version": sr.version,
            "solved": "yes",
            "satisfaction": Satisfaction.SATISFIED,
            "comment": "",
            "assignee": other_worker.pk,
            "status": Status.CANCELLED,
            "title": "changed",
        },
    )
    assert response.status_code in (200, 302)
    sr.refresh_from_db()
    assert sr.assignee == worker_a and sr.title == "帮忙开降压药" and sr.status != Status.CANCELLED


def test_a_worker_editing_a_resident_cannot_move_them_or_link_a_login(
    as_user, worker_a, resident_a, community_b, head_a
):
    url = reverse("residents:resident_update", args=[resident_a.pk])
    form = as_user(worker_a.user).get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["care_tags"] = []
    data |= {"community": community_b.pk, "user": head_a.pk, "erased_at": "2020-01-01T00:00:00Z"}
    data |= {"name_pinyin": "zzz", "name": "张三丰"}
    response = as_user(worker_a.user).post(url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    resident_a.refresh_from_db()
    assert resident_a.name == "张三丰"
    assert resident_a.community != community_b and resident_a.user is None and resident_a.erased_at is None
    assert resident_a.name_pinyin == "zhangsanfeng"
