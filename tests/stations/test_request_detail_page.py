"""The request detail page reads the names it shows of the enterprise, the building, the assignee and who
logged the request as subqueries, and asks for the pending extension and the notes only when there are
some (stations.selectors.requests.get_request_for(detail=True)): the page still shows them all."""

import datetime as dt
import io
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from stations.models import Category, SocialWorker
from stations.services.categories import categories_seed
from stations.services.requests import extension_request, note_add, photo_add, service_request_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


def make_request(actor, community, category, **kwargs):
    service_request, _created = service_request_create(
        actor=actor, community=community, category=category, title="帮忙开降压药", **kwargs
    )
    return service_request


def detail(client, service_request) -> tuple[str, int]:
    """The page in English, whitespace collapsed, and its query count."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(service_request.get_absolute_url())
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode()), len(queries.captured_queries)


def shown(html: str, term: str) -> str:
    """What the page shows for one of its terms (<dt>term</dt><dd>value</dd>)."""
    match = re.search(rf"<dt [^>]*>{re.escape(term)}</dt> ?<dd [^>]*>(.*?)</dd>", html)
    assert match, term
    return match.group(1).strip()


def test_shows_enterprise_building_assignee_and_who_logged_it(
    as_user, head_a, worker_a, community_a, medicine
):
    head_a.first_name, head_a.last_name = "桂芳", "杨"
    head_a.save(update_fields=["first_name", "last_name"])
    office = factories.BuildingFactory(community=community_a, number="华贸中心A座")
    enterprise = factories.EnterpriseFactory(
        building=office, community=community_a, name="安华<科技>有限公司"
    )
    service_request = make_request(
        head_a, community_a, medicine, requester_enterprise=enterprise, assignee=worker_a
    )
    assert service_request.household_id is None and service_request.building_id == office.pk

    html, _count = detail(as_user(head_a), service_request)

    assert shown(html, "Requester") == "安华&lt;科技&gt;有限公司<br>"
    assert shown(html, "Address") == "华贸中心A座"
    assert shown(html, "Assigned to") == worker_a.display_name
    assert shown(html, "Logged by") == "桂芳 杨"  # User.get_full_name()


def test_shows_the_username_of_who_logged_it_without_a_name_and_no_address(
    as_user, head_a, community_a, medicine
):
    service_request = make_request(head_a, community_a, medicine, contact_name="王先生")
    assert (service_request.household_id, service_request.building_id) == (None, None)

    html, _count = detail(as_user(head_a), service_request)

    assert shown(html, "Logged by") == head_a.username
    assert shown(html, "Address") == "No address"


def test_extension_notes_photos_and_helpers_cost_a_query_each_only_when_there_are_some(
    as_user, head_a, worker_a, community_a, medicine, resident_a
):
    quiet = make_request(head_a, community_a, medicine, requester=resident_a, assignee=worker_a)
    busy = make_request(head_a, community_a, medicine, requester=resident_a, assignee=worker_a)
    extension_request(
        service_request=busy,
        actor=worker_a.user,
        new_due_at=timezone.now() + dt.timedelta(days=9),
        reason="等药",
    )
    note_add(service_request=busy, actor=head_a, body="已联系药房")
    picture = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(picture, format="PNG")
    photo = photo_add(
        service_request=busy,
        actor=head_a,
        upload=SimpleUploadedFile("p.png", picture.getvalue(), content_type="image/png"),
    )
    helper = factories.make_worker(community=community_a, username="helper")
    SocialWorker.objects.filter(pk=helper.pk).update(display_name="协办小李")
    busy.assisting.add(helper)
    client = as_user(head_a)
    detail(client, quiet)  # warm-up, as a running server is

    quiet_html, quiet_count = detail(client, quiet)
    busy_html, busy_count = detail(client, busy)

    assert "Extension requested" not in quiet_html and "已联系药房" not in quiet_html
    assert "Assisting (协办)" not in quiet_html and "<img" not in quiet_html
    assert "Extension requested" in busy_html and "等药" in busy_html and "已联系药房" in busy_html
    assert shown(busy_html, "Assisting (协办)") == "协办小李"
    assert f'<img src="{photo.get_absolute_url()}"' in busy_html
    assert busy_count == quiet_count + 4
