"""A new-resident form submitted twice (a double tap on a phone, a resend) registers one resident."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from residents.models import Resident
from residents.selectors import home_address
from residents.services import resident_create
from tests import factories
from tests.concurrency import _errors, _ok, run_together

BASE = {"gender": "male", "relation": "head", "legal_basis": "statutory"}


@pytest.mark.django_db
class TestDoubleSubmit:
    def test_the_form_carries_a_fresh_key_and_the_edit_form_none(self, as_user, worker_a, resident_a):
        client = as_user(worker_a.user)
        first = client.get(reverse("residents:resident_create")).context["form"]
        second = client.get(reverse("residents:resident_create")).context["form"]
        assert first["submission_key"].value() != second["submission_key"].value()
        page = client.get(reverse("residents:resident_update", args=[resident_a.pk])).content.decode()
        assert 'name="submission_key"' not in page

    @pytest.mark.parametrize("with_id_number", [False, True])
    def test_the_same_form_twice_registers_one(self, as_user, worker_a, household_a, with_id_number):
        client = as_user(worker_a.user)
        data = {
            **BASE,
            "name": "王五",
            "household": home_address(household_a),
            "submission_key": str(uuid.uuid4()),
            **({"id_number": factories.make_id_number(3)} if with_id_number else {}),
        }
        first = client.post(reverse("residents:resident_create"), data)
        second = client.post(reverse("residents:resident_create"), data)
        [resident] = Resident.objects.filter(name="王五")
        assert first.status_code == second.status_code == 302
        assert first["Location"] == second["Location"] == resident.get_absolute_url()

    def test_two_forms_register_two(self, as_user, worker_a):
        client = as_user(worker_a.user)
        for _ in range(2):
            client.post(
                reverse("residents:resident_create"),
                {**BASE, "name": "王五", "submission_key": str(uuid.uuid4())},
            )
        assert Resident.objects.filter(name="王五").count() == 2

    def test_a_key_of_another_community_is_refused(self, community_a, community_b, worker_a):
        key = uuid.uuid4()
        resident_create(actor=worker_a.user, community=community_b, name="李四", submission_key=key)
        with pytest.raises(ValidationError):
            resident_create(actor=worker_a.user, community=community_a, name="王五", submission_key=key)
        assert not Resident.objects.filter(name="王五").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_register_one(community_a, head_a, household_a):
    key = uuid.uuid4()
    id_number = factories.make_id_number(5)
    results = run_together(
        2,
        lambda i: (
            resident_create(
                actor=head_a, community=community_a, name="王五", id_number=id_number, submission_key=key
            ).pk
        ),
    )
    assert _errors(results) == []
    assert len(set(_ok(results))) == 1
    assert Resident.objects.filter(name="王五").count() == 1
