from pathlib import Path


def test_roles_exist(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"social_worker", "committee_head"}


def test_personas(worker_a, head_a, resident_user_a, worker_b):
    assert worker_a.community != worker_b.community


def test_the_icon_is_declared_and_favicon_ico_finds_it(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
    from django.contrib.staticfiles import finders

    assert Path(finders.find("favicon.svg")).read_text().startswith("<svg")
