"""Request middleware shared by the apps."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from community.lib import request_id, sessions


class LanguageMiddleware:
    """Simplified Chinese unless the user picked another language with the switcher (its cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language; on the shared phones and
    desk computers of a station that gives a random language, so only an explicit choice counts.

    The project's one time zone (settings.TIME_ZONE) is made the current one too, which changes nothing
    Django shows: with none activated, each of the ~14 look-ups a page makes of it (dates in templates,
    forms, "now" in selectors) fails in asgiref's Local, raising and catching an AttributeError, before
    falling back to the same default."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        timezone.activate(timezone.get_default_timezone())
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ["Cookie"])
        return response


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it is a safe token, else a uuid4 hex):
    ``request.request_id``, the X-Request-ID response header, every log record of the request
    (community.lib.request_id.RequestIdFilter) and the code the 500 page asks the user to quote.
    First in MIDDLEWARE, so the id is bound while every other layer runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id.new_request_id(request)
        token = request_id.bind(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id.unbind(token)
        response[request_id.HEADER] = request.request_id
        return response


class NoStoreForUsersMiddleware:
    """``Cache-Control: no-store, private`` on every response to a logged-in user that did not set its
    own, so residents' data never stays in a shared cache or in the back-button cache of a station's
    shared phone after logout. Static files never get here (WhiteNoise answers before)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store, private"
        return response


class SessionTimeoutMiddleware:
    """The two session limits of a logged-in user.

    - Idle: the session (its database row and its cookie) lives SESSION_COOKIE_AGE (8 h) after it was
      last saved. Every request saves it again once SESSION_REFRESH_INTERVAL (5 min) has passed since
      the last save, so 8 h without a request end it. That is SESSION_SAVE_EVERY_REQUEST, without a
      database write on every single request (and at most 5 minutes less precise).
    - Absolute: SESSION_ABSOLUTE_AGE (12 h) after the login (stamped by community.lib.sessions), the
      user is logged out however active they are, and told so on the login page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            logged_in_at = request.session.get(sessions.LOGIN_AT)
            if logged_in_at is not None and now - logged_in_at > settings.SESSION_ABSOLUTE_AGE:
                logout(request)
                messages.info(request, _("Your session has ended. Please log in again."))
            elif now - request.session.get(sessions.REFRESHED_AT, 0) >= settings.SESSION_REFRESH_INTERVAL:
                request.session[sessions.REFRESHED_AT] = now  # modified: SessionMiddleware saves it
        return self.get_response(request)
