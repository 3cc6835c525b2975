"""Staff book for someone with the intake form's resident lookup instead of a select of every resident:
htmx answers on the booking URL (?resident_q=, ?pick=), a hidden resident id checked against the space's
community, and without JavaScript the typed text looked up when the form is sent."""

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from stations.models import Booking, OpeningHours, Space
from tests import factories

pytestmark = pytest.mark.django_db


def at(days: int, hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def space(community_a):
    space = Space.objects.create(community=community_a, name="活动大厅", area_m2=200, capacity=30)
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(8), closes=dt.time(21)) for d in range(7)]
    )
    return space


@pytest.fixture
def url(space):
    return reverse("stations:booking_create", args=[space.pk])


@pytest.fixture
def staff(as_user, worker_a):
    return as_user(worker_a.user)


@pytest.fixture
def wang(household_a):
    return factories.ResidentFactory(household=household_a, name="王芳", phone="13700007777")


def booking_data(**extra) -> dict:
    return {
        "starts_at": local(at(1, 14)),
        "ends_at": local(at(1, 15)),
        "purpose": "读书会",
        "attendees": "5",
        "submission_key": str(uuid.uuid4()),
        **extra,
    }


def test_the_staff_form_lists_nobody(staff, url, community_a, household_a, resident_a):
    for i in range(40):
        factories.ResidentFactory(household=household_a, name=f"李{i}")
    response = staff.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<select" not in body.split('name="resident_q"')[0].split("<form")[-1]  # no person select
    assert "李1" not in body and resident_a.name not in body
    assert 'name="resident_q"' in body and 'id="resident-chosen"' in body
    assert f'hx-get="{url}"' in body


def test_lookup_finds_residents_of_the_spaces_community_with_masked_phones(
    staff, url, resident_a, resident_b
):
    response = staff.get(url, {"resident_q": "1234"})  # 张焱's phone tail
    body = response.content.decode()
    assert response.status_code == 200
    assert resident_a.name in body and resident_a.masked_phone in body
    assert resident_a.phone not in body
    assert f"{url}?pick={resident_a.pk}" in body
    assert resident_b.name not in staff.get(url, {"resident_q": resident_b.name}).content.decode()


def test_pick_fills_the_hidden_field_and_clears_the_results(staff, url, resident_a):
    body = staff.get(url, {"pick": resident_a.pk}).content.decode()
    assert f'<input type="hidden" name="resident" value="{resident_a.pk}">' in body
    assert 'id="lookup-results"' in body and 'hx-swap-oob="true"' in body
    assert staff.get(url, {"pick": ""}).content.decode().count('name="resident"') == 0  # "Change"


def test_pick_of_another_communitys_resident_is_404(staff, url, resident_b):
    assert staff.get(url, {"pick": resident_b.pk}).status_code == 404
    assert staff.get(url, {"pick": "x"}).status_code == 404


def test_residents_cannot_search_the_registry(as_user, resident_user_a, url, resident_a):
    client = as_user(resident_user_a)
    assert client.get(url, {"resident_q": "张"}).status_code == 403
    assert client.get(url, {"pick": resident_a.pk}).status_code == 403


def test_other_communitys_staff_get_404(as_user, worker_b, url):
    assert as_user(worker_b.user).get(url, {"resident_q": "张"}).status_code == 404


def test_posting_the_picked_id_books_for_that_person(staff, url, wang, worker_a):
    response = staff.post(url, booking_data(resident=str(wang.pk)))
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.resident, booking.booked_by) == (wang, worker_a.user)


def test_a_forged_id_of_another_community_is_refused(staff, url, resident_b):
    response = staff.post(url, booking_data(resident=str(resident_b.pk)))
    assert response.status_code == 200
    assert response.context["form"].errors["resident"]
    assert not Booking.objects.exists()


def test_without_javascript_one_match_is_chosen_then_booked(staff, url, resident_a, wang):
    # Enter in the search box (or no JavaScript) sends the form with the typed text only: the one
    # person it finds comes back chosen, and nothing is booked until the form is sent again.
    data = booking_data(resident_q="王芳")
    response = staff.post(url, data)
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["resident_q"]] == ["confirm"]
    assert f'<input type="hidden" name="resident" value="{wang.pk}">' in response.content.decode()
    assert not Booking.objects.exists()
    assert staff.post(url, {**data, "resident": str(wang.pk)}).status_code == 302
    assert Booking.objects.get().resident == wang


def test_without_javascript_several_matches_are_offered(staff, url, household_a, resident_a):
    twins = [factories.ResidentFactory(household=household_a, name=f"刘洋{i}") for i in range(3)]
    response = staff.post(url, booking_data(resident_q="刘洋"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["resident_q"] and form.matches == sorted(twins, key=lambda r: (r.name_pinyin, r.pk))
    body = response.content.decode()
    for twin in twins:
        assert f'type="radio" name="resident" value="{twin.pk}"' in body
    assert not Booking.objects.exists()
    # Choosing one of them and sending again books it.
    data = booking_data(resident_q="刘洋", resident=str(twins[1].pk))
    assert staff.post(url, data).status_code == 302
    assert Booking.objects.get().resident == twins[1]


def test_without_javascript_no_match_or_no_text_is_an_error(staff, url, resident_a):
    nobody = staff.post(url, booking_data(resident_q="不存在的人")).context["form"]
    assert [e.code for e in nobody.errors.as_data()["resident_q"]] == ["not_found"]
    empty = staff.post(url, booking_data()).context["form"]
    assert [e.code for e in empty.errors.as_data()["resident_q"]] == ["required"]
    assert not Booking.objects.exists()


def test_taken_slot_shows_the_chosen_person_again(staff, url, resident_a, wang, resident_user_a):
    staff.post(url, booking_data(resident=str(resident_a.pk)))
    response = staff.post(url, booking_data(resident=str(wang.pk)))
    assert response.status_code == 409
    body = response.content.decode()
    assert f'<input type="hidden" name="resident" value="{wang.pk}">' in body
    assert wang.name in body and wang.phone not in body


def test_erased_residents_cannot_be_picked(staff, url, wang):
    wang.erased_at = timezone.now()
    wang.save(update_fields=["erased_at"])
    assert staff.get(url, {"pick": wang.pk}).status_code == 404
    response = staff.post(url, booking_data(resident=str(wang.pk)))
    assert response.status_code == 200 and response.context["form"].errors["resident"]
