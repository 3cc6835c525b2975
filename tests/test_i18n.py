"""Every string a user sees is translated: the Chinese catalogue is complete and current."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

ROOT = Path(settings.BASE_DIR)
ZH_PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
EN_PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
SOURCES = ("community", "residents", "stations", "templates")


def parse_po(path: Path) -> dict[tuple[str, str], dict]:
    """{(msgctxt, msgid): {"msgstr": [...], "fuzzy": bool}} — just enough of the PO format for checks."""
    entries: dict[tuple[str, str], dict] = {}
    text = path.read_text(encoding="utf-8")
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if "msgid" not in fields or fields["msgid"] == "":
            continue
        msgstrs = [v for k, v in fields.items() if k.startswith("msgstr")]
        entries[(fields.get("msgctxt", ""), fields["msgid"])] = {"msgstr": msgstrs, "fuzzy": fuzzy}
    return entries


def test_chinese_catalogue_has_no_empty_or_fuzzy_entry():
    entries = parse_po(ZH_PO)
    assert len(entries) > 100
    empty = [msgid for (_c, msgid), e in entries.items() if not all(e["msgstr"])]
    fuzzy = [msgid for (_c, msgid), e in entries.items() if e["fuzzy"]]
    assert not empty, f"untranslated: {empty[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


def test_catalogues_are_current(tmp_path):
    """makemessages on a copy of the sources finds no string that the committed catalogue lacks."""
    if not shutil.which("xgettext"):
        pytest.skip("needs GNU gettext (apt-get install gettext)")
    for name in SOURCES:
        shutil.copytree(
            ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "migrations")
        )
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "-v", "0"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "community.settings",
            "PYTHONPATH": str(tmp_path),
        },
    )
    fresh = set(parse_po(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = set(parse_po(ZH_PO))
    missing = sorted(msgid for _c, msgid in fresh - committed)
    assert not missing, f"run `make messages` and translate: {missing[:10]}"


def test_english_catalogue_is_complete():
    """English is the source language; its catalogue still names every message (msgen), so a
    translator or a check sees at a glance that nothing is missing."""
    english = parse_po(EN_PO)
    assert set(english) == set(parse_po(ZH_PO))
    assert all(all(e["msgstr"]) and not e["fuzzy"] for e in english.values())


@pytest.mark.django_db
def test_language_switcher_sets_english_and_back():
    client = Client()
    response = client.get("/accounts/login/")
    assert response.headers["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    response = client.get("/accounts/login/")
    assert response.headers["Content-Language"] == "en"
    assert "Log in" in response.content.decode()


def test_default_language_ignores_browser_header(client):
    response = client.get("/accounts/login/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.headers["Content-Language"] == "zh-hans"


def test_a_request_makes_the_projects_time_zone_current(client, settings):
    from django.utils import timezone

    timezone.deactivate()
    client.get("/accounts/login/")
    # Activated, not only the fallback: the look-ups find it instead of failing into the default.
    assert getattr(timezone._active, "value", None) is timezone.get_default_timezone()
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE == "Asia/Shanghai"


def test_a_desk_term_is_translated():
    with translation.override("zh-hans"):
        from stations.choices import Status

        assert str(Status.RESOLVED.label) != "Resolved (办结), awaiting follow-up"


def test_djangos_blank_choice_is_chinese_on_a_chinese_page(as_user, worker_a):
    """Django 6.1's "- Select an option -" is not in its own zh_Hans catalogue; ours translates it."""
    from django.db.models.fields import BLANK_CHOICE_LABEL

    with translation.override("zh-hans"):
        assert str(BLANK_CHOICE_LABEL) == "- 请选择 -"
    page = as_user(worker_a.user).get(reverse("residents:resident_create")).content.decode()
    assert "Select an option" not in page
    assert "- 请选择 -" in page  # the employer <select>
