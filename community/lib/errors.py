"""Error answers: the 500 handler (community.urls.handler500) and the login lockout page (429).

Django's default renders 500.html without any context; ours adds the request id so the user can
quote it and we can find the traceback in the log. The template is standalone (no base.html, no
user, no database): whatever broke the page may also break those.
"""

import logging
import math

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from community.lib.request_id import NO_REQUEST, get_request_id

logger = logging.getLogger(__name__)


@requires_csrf_token
def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponseServerError:
    request_id = getattr(request, "request_id", None) or get_request_id()
    if request_id == NO_REQUEST:
        request_id = ""
    try:
        body = loader.get_template(template_name).render({"request_id": request_id})
    except Exception:  # the error page must never fail in turn: plain text, still with the code
        logger.exception("Rendering %s failed", template_name)
        message = _("Server error.")
        body = f"{message} {request_id}"
        return HttpResponseServerError(body, content_type="text/plain; charset=utf-8")
    return HttpResponseServerError(body)


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login (settings.AXES_LOCKOUT_CALLABLE): the translated 429
    page. It says how long to wait, never whether the username exists."""
    from axes.helpers import get_cool_off, get_failure_limit  # axes reads its settings on import

    cool_off = get_cool_off(request)
    context = {
        "lockout": True,
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "429.html", context, status=429)
