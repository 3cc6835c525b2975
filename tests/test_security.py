"""Trust: login throttling, sessions, security headers, the deploy check and the error pages.

This module is also the urlconf of the error-page tests (``pytest.mark.urls(__name__)``): the app's own
urls plus views that fail on purpose, and the app's own handler500.
"""

import datetime as dt
import io
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import HttpResponse
from django.template import loader
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone

from community import urls as community_urls
from community.lib import sessions
from community.lib.errors import server_error
from community.lib.request_id import NO_REQUEST, RequestIdFilter, get_request_id

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_IN_ERROR = "secret-13812341234"


# --- A urlconf with views that fail on purpose (never a production URL) ----------------------------


def _boom(request):
    raise RuntimeError(f"database said: {SECRET_IN_ERROR}")


def _bad(request):
    raise BadRequest("nope")


def _forbidden(request):
    raise PermissionDenied("nope")


def _cached(request):
    response = HttpResponse("calendar")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _logs(request):
    logging.getLogger("onedesk.test").warning("hello from the view")
    return HttpResponse("ok")


urlpatterns = [
    path("test-errors/boom/", _boom),
    path("test-errors/bad/", _bad),
    path("test-errors/forbidden/", _forbidden),
    path("test-errors/logs/", _logs),
    path("test-errors/cached/", _cached),
    *community_urls.urlpatterns,
]
handler500 = community_urls.handler500


# --- Helpers ------------------------------------------------------------------------------------------


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def console_log():
    """The root handler configured by settings.LOGGING, writing into a buffer for the test."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, RequestIdFilter) for f in h.filters)
    ]
    assert len(handlers) == 1, "settings.LOGGING must give the root logger one console handler"
    handler = handlers[0]
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(old)


# --- 1. Login hardening ---------------------------------------------------------------------------------


def test_login_gives_the_same_message_for_unknown_user_and_wrong_password(client, worker_a):
    unknown = _login(client, "nobody-here", "whatever-pw-123")
    wrong = _login(client, "worker_a", "not-the-password")

    assert unknown.status_code == wrong.status_code == 200
    assert unknown.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()
    assert len(wrong.context["form"].non_field_errors()) == 1
    assert not _logged_in(client)


def test_right_password_logs_in(client, worker_a):
    response = _login(client, "worker_a", "onedesk-test-pw")

    assert response.status_code == 302
    assert _logged_in(client)


def test_five_failures_lock_the_username_from_that_address(client, worker_a):
    for _ in range(4):
        assert _login(client, "worker_a", "wrong-pw").status_code == 200
    fifth = _login(client, "worker_a", "wrong-pw")
    assert fifth.status_code == 429
    assert "429.html" in [t.name for t in fifth.templates]

    # Even the right password is refused while the lock holds, with the translated page.
    locked = _login(client, "worker_a", "onedesk-test-pw")
    assert locked.status_code == 429
    assert not _logged_in(client)
    assert locked.context["lockout"] is True
    assert locked.context["minutes"] == 15
    assert locked.context["failure_limit"] == 5
    assert locked["Content-Language"] == "zh-hans"
    body = locked.content.decode()
    assert "worker_a" not in body  # the page never echoes the username
    assert locked["X-Request-ID"] in body


def test_lock_is_per_username_and_address(client, worker_a, worker_b):
    for _ in range(5):
        _login(client, "worker_a", "wrong-pw", ip="10.0.0.1")

    assert _login(client, "worker_a", "onedesk-test-pw", ip="10.0.0.1").status_code == 429
    # The same user from another address, and another user from the same address, may log in.
    assert _login(Client(), "worker_a", "onedesk-test-pw", ip="10.0.0.2").status_code == 302
    assert _login(Client(), "worker_b", "onedesk-test-pw", ip="10.0.0.1").status_code == 302


def test_unknown_usernames_are_locked_the_same_way(client, db):
    """Otherwise the lockout would tell which usernames exist."""
    for _ in range(4):
        assert _login(client, "nobody-here", "wrong-pw").status_code == 200
    response = _login(client, "nobody-here", "wrong-pw")

    assert response.status_code == 429
    _assert_csp_clean(response.content.decode(), "429")


def test_lock_ends_after_15_minutes(client, worker_a):
    from axes.models import AccessAttempt

    for _ in range(5):
        _login(client, "worker_a", "wrong-pw")
    assert _login(client, "worker_a", "onedesk-test-pw").status_code == 429

    attempt = AccessAttempt.objects.get(username="worker_a")
    attempt.attempt_time -= dt.timedelta(minutes=16)
    attempt.save(update_fields=["attempt_time"])

    assert _login(client, "worker_a", "onedesk-test-pw").status_code == 302
    assert _logged_in(client)


def test_a_successful_login_resets_the_count(client, worker_a):
    for _ in range(4):
        _login(client, "worker_a", "wrong-pw")
    assert _login(client, "worker_a", "onedesk-test-pw").status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert _login(client, "worker_a", "wrong-pw").status_code == 200
    assert _login(client, "worker_a", "onedesk-test-pw").status_code == 302


def test_axes_is_on_and_first(settings):
    assert settings.AXES_ENABLED is True
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.parametrize("weak", ["12345678", "password", "onedesk", "worker_a1"])
def test_weak_passwords_are_refused(weak, worker_a):
    with pytest.raises(ValidationError):
        validate_password(weak, user=worker_a.user)


def test_a_long_passphrase_is_accepted(worker_a):
    validate_password("lantern-stairwell-radish-42", user=worker_a.user)


# --- 2. Sessions -----------------------------------------------------------------------------------------


def test_requests_renew_the_idle_timer_at_most_every_5_minutes(as_user, worker_a, settings):
    """8 h without a request end the session: requests push its expiry back (the cookie's and the
    database row's), with one write per 5 minutes at most instead of one per request."""
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_REFRESH_INTERVAL == 5 * 60
    client = as_user(worker_a.user)

    # Just logged in: nothing to renew, no write.
    assert settings.SESSION_COOKIE_NAME not in client.get(reverse("home")).cookies

    session = client.session
    session[sessions.REFRESHED_AT] = int(time.time()) - 301
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + dt.timedelta(minutes=1)  # almost idle for 8 h
    )
    response = client.get(reverse("home"))

    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 8 * 3600
    assert abs(client.session[sessions.REFRESHED_AT] - time.time()) < 60
    row = Session.objects.get(session_key=client.session.session_key)
    assert abs((row.expire_date - timezone.now()).total_seconds() - 8 * 3600) < 60


def test_an_idle_session_has_ended(as_user, worker_a):
    client = as_user(worker_a.user)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )

    response = client.get(reverse("stations:my_queue"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_session_ends_12_hours_after_login_however_active(as_user, worker_a):
    client = as_user(worker_a.user)
    logged_in_at = client.session[sessions.LOGIN_AT]  # stamped by the session store at login
    assert abs(logged_in_at - time.time()) < 60

    # 11 h 59 min later, active all the time: still in.
    session = client.session
    session[sessions.LOGIN_AT] = int(time.time()) - (12 * 3600 - 60)
    session.save()
    assert client.get(reverse("stations:my_queue")).status_code == 200

    # 12 h 1 min: logged out, sent to the login page with a message.
    session = client.session
    session[sessions.LOGIN_AT] = int(time.time()) - (12 * 3600 + 60)
    session.save()
    response = client.get(reverse("stations:my_queue"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not _logged_in(client)
    page = client.get(response.url)
    assert [str(m) for m in page.context["messages"]] == ["登录已超时，请重新登录。"] or [
        m.message for m in page.context["messages"]
    ] == ["Your session has ended. Please log in again."]


def test_login_time_is_stamped_on_form_login(client, worker_a):
    _login(client, "worker_a", "onedesk-test-pw")

    assert abs(client.session[sessions.LOGIN_AT] - time.time()) < 60
    assert client.session[sessions.REFRESHED_AT] == client.session[sessions.LOGIN_AT]


def test_a_new_login_as_someone_else_gets_a_new_login_time(client, worker_a, head_a):
    _login(client, "worker_a", "onedesk-test-pw")
    session = client.session
    session[sessions.LOGIN_AT] = 1
    session.save()

    client.force_login(head_a)

    assert abs(client.session[sessions.LOGIN_AT] - time.time()) < 60


def test_logout_is_post_only_and_kills_the_session(as_user, worker_a, settings):
    client = as_user(worker_a.user)
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("logout")).status_code == 405
    assert _logged_in(client)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    replay = stolen.get(reverse("stations:my_queue"))
    assert replay.status_code == 302
    assert replay.url.startswith(reverse("login"))


@pytest.mark.parametrize("secure", [False, True])
def test_session_cookie_flags(client, worker_a, settings, secure):
    settings.SESSION_COOKIE_SECURE = secure

    response = _login(client, "worker_a", "onedesk-test-pw")

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is secure


# --- 3. Headers --------------------------------------------------------------------------------------------


def test_security_headers_on_a_page_of_a_logged_in_user(as_user, worker_a, resident_a):
    client = as_user(worker_a.user)

    response = client.get(reverse("residents:resident_detail", args=[resident_a.pk]))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    # The nonce appears only on pages that use it; never 'unsafe-inline'.
    assert re.search(r"script-src 'self'( 'nonce-[^']+')?;", csp)
    assert "style-src 'self';" in csp
    assert "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_hsts_when_secure(as_user, worker_a, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    client = as_user(worker_a.user)

    response = client.get(reverse("home"), secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_no_hsts_in_development(client):
    assert "Strict-Transport-Security" not in client.get(reverse("login"), secure=True)


def test_anonymous_pages_keep_their_own_cache_control(client):
    response = client.get(reverse("login"))  # never_cache already

    assert "no-store" in response["Cache-Control"]


def test_any_view_answers_a_user_with_no_store_unless_it_chose_its_own(as_user, worker_a, settings):
    settings.ROOT_URLCONF = __name__
    client = as_user(worker_a.user)

    assert client.get("/test-errors/logs/")["Cache-Control"] == "no-store, private"
    assert client.get("/test-errors/cached/")["Cache-Control"] == "private, max-age=300"
    client.logout()
    assert "Cache-Control" not in client.get("/test-errors/logs/")


def test_static_files_are_not_marked_no_store(as_user, worker_a):
    client = as_user(worker_a.user)

    response = client.get("/static/css/onedesk.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def _assert_csp_clean(html: str, where: str) -> None:
    assert 'style="' not in html and "style='" not in html, f"inline style on {where}"
    for tag in _SCRIPT_TAG.findall(html):
        assert "nonce=" in tag or "src=" in tag, f"inline script without nonce on {where}: {tag}"
    assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {where}"


def test_pages_use_no_inline_styles_or_scripts(client, worker_a, head_a, resident_user_a, resident_a):
    pages = {
        worker_a.user: [
            reverse("home"),
            reverse("stations:my_queue"),
            reverse("stations:request_create"),
            reverse("residents:resident_list"),
            reverse("residents:resident_detail", args=[resident_a.pk]),
            "/residents/999999/",  # 404 page
        ],
        head_a: [reverse("home"), reverse("stations:request_list")],
        resident_user_a: [reverse("home"), reverse("stations:own_request_list"), "/residents/"],  # 403
    }
    for user, urls in pages.items():
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 403, 404), url
            _assert_csp_clean(response.content.decode(), url)
    client.logout()
    _assert_csp_clean(client.get(reverse("login")).content.decode(), "login")
    _assert_csp_clean(loader.get_template("500.html").render({"request_id": "abc"}), "500")


# --- 4. The deploy check --------------------------------------------------------------------------------


def _production_env(**extra) -> dict:
    # Only the machine's basics: no DJANGO_* (the suite sets DJANGO_ALLOW_ASYNC_UNSAFE) nor DATABASE_URL.
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
    env.update(
        DEBUG="false",
        SECURE="true",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="onedesk.example.org",
        DJANGO_SETTINGS_MODULE="community.settings",
        **extra,
    )
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    # Its own database file: a fresh clone has no var/ directory for the default SQLite file.
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_secure_true_turns_on_the_cookie_and_transport_settings():
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps("
        "[s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE, s.DEBUG]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, True, True, 31536000, True, True, True, "Lax", False]


# --- 5. Error pages and the request id -----------------------------------------------------------------


@pytest.fixture
def failing(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_500_page_shows_the_request_id_and_nothing_else(failing, console_log, worker_a):
    failing.force_login(worker_a.user)

    response = failing.get("/test-errors/boom/")

    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    body = response.content.decode()
    assert request_id in body
    assert "Traceback" not in body
    assert "RuntimeError" not in body
    assert SECRET_IN_ERROR not in body
    assert "worker_a" not in body
    assert 'lang="zh-hans"' in body
    # The log line has the same id, and the traceback is there for us (not for the user).
    logged = console_log.getvalue()
    assert f"[{request_id}] django.request" in logged
    assert "RuntimeError" in logged


def test_500_template_needs_no_request():
    html = loader.get_template("500.html").render({"request_id": "0123abcd"})

    assert "0123abcd" in html
    assert "{%" not in html


def test_500_falls_back_to_plain_text_when_the_template_breaks(rf):
    request = rf.get("/")
    request.request_id = "feedc0de12345678"

    response = server_error(request, template_name="no-such-template.html")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/plain")
    assert "feedc0de12345678" in response.content.decode()


def test_handler500_is_ours():
    assert community_urls.handler500 == "community.lib.errors.server_error"


@pytest.mark.parametrize(
    ("url", "status", "template"),
    [
        ("/test-errors/bad/", 400, "400.html"),
        ("/test-errors/forbidden/", 403, "403.html"),
        ("/no-such-page/", 404, "404.html"),
    ],
)
def test_error_pages_are_ours_and_carry_the_request_id(failing, worker_a, url, status, template):
    failing.force_login(worker_a.user)

    response = failing.get(url)

    assert response.status_code == status
    assert template in [t.name for t in response.templates]
    assert "base.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert response["X-Request-ID"] in body
    assert "nope" not in body  # the exception's message is never shown
    assert "Traceback" not in body


def test_csrf_failure_page_is_ours(worker_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(worker_a.user)

    response = client.post(reverse("logout"))

    assert response.status_code == 403
    assert "403_csrf.html" in [t.name for t in response.templates]


def test_request_id_is_in_every_log_line_of_the_request(failing, console_log):
    response = failing.get("/test-errors/logs/")

    assert f"[{response['X-Request-ID']}] onedesk.test: hello from the view" in console_log.getvalue()
    assert get_request_id() == NO_REQUEST  # unbound after the request


def test_log_lines_outside_a_request_have_a_dash(console_log):
    logging.getLogger("onedesk.test").warning("from a command")

    assert "[-] onedesk.test: from a command" in console_log.getvalue()


def test_a_safe_request_id_from_the_proxy_is_kept(client):
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID="proxy-4f2a9c1e-77")

    assert response["X-Request-ID"] == "proxy-4f2a9c1e-77"


@pytest.mark.parametrize(
    "unsafe", ["short", "has space 12345678", "<script>alert(1)</script>", "a" * 65, "x\r\nSet-Cookie: a"]
)
def test_an_unsafe_request_id_from_the_proxy_is_replaced(client, unsafe):
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID=unsafe)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


# --- Ids in query strings and hidden fields ------------------------------------------------------------

ODD_IDS = ["²", "１２", "٣", "9" * 30, "-1", "1e3", " 7"]  # "²".isdigit() is True; int("²") fails


@pytest.mark.parametrize("odd", ODD_IDS)
def test_odd_ids_in_parameters_never_break_a_page(as_user, worker_a, head_a, building_a, odd):
    """Every view that reads an id from the query string (or a hidden field) answers with a page or a
    404 for text that only looks like digits (community.lib.http.id_param), never a server error."""
    worker = as_user(worker_a.user)
    calls = [
        (worker, "GET", "stations:request_create", {"category": odd, "building": odd, "requester": odd}),
        (worker, "GET", "stations:resident_lookup", {"pick": odd}),
        (worker, "GET", "stations:errand_create", {"resident": odd}),
        (worker, "POST", "stations:errand_create", {"resident": odd, "title": "代开药"}),
        (worker, "GET", "stations:visit_create", {"household": odd}),
        (worker, "GET", "stations:today_schedule", {"space": odd}),
        (worker, "GET", "residents:resident_create", {"household": odd}),
        (worker, "GET", "residents:household_create", {"building": odd}),
    ]
    for client, method, name, params in calls:
        url = reverse(name)
        response = client.post(url, params) if method == "POST" else client.get(url, params)
        assert response.status_code in (200, 302, 403, 404), f"{name} {params}: {response.status_code}"
    report = reverse("stations:monthly_report", kwargs={"year": 2026, "month": 11})
    assert as_user(head_a).get(report, {"community": odd}).status_code == 404
