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


def test_no_template_comment_spans_lines():
    """{# … #} is one line only in Django: one that runs on shows its text on the page ({% comment %} spans)."""
    root = Path(__file__).resolve().parent.parent / "templates"
    broken = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.html")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "{#" in line and "#}" not in line.split("{#", 1)[1]
    ]
    assert broken == []
