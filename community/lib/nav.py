"""`{% nav_menu %}`: the main menu of base.html, rendered once per process for each combination of what it
depends on — the language, the URL prefix and the user's permissions, staff and superuser flags — and
then reused. Registered as the template library `nav` (settings.TEMPLATES).

The menu is on every page and cost ~3 ms to render (two dozen reverse() calls, forty translations and
permission lookups). Its template (templates/includes/nav_menu.html) sees only `perms` and those two
flags, never the user's name or anything else personal, so one rendering serves every user with the same
rights. With DEBUG on it is rendered every time, so template edits show at once."""

from django import template
from django.conf import settings
from django.contrib.auth.context_processors import PermWrapper
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

_MENUS: dict[tuple, str] = {}
_MAX_MENUS = 256  # roles × languages is a few dozen; the bound only guards against surprises


def render_menu(user) -> str:
    flags = {"is_staff": user.is_staff, "is_superuser": user.is_superuser}
    return render_to_string("includes/nav_menu.html", {"perms": PermWrapper(user), "user": flags})


@register.simple_tag(takes_context=True)
def nav_menu(context) -> SafeString:
    user = context["user"]
    if settings.DEBUG:
        return mark_safe(render_menu(user))
    key = (
        get_language(),
        get_script_prefix(),
        user.is_staff,
        user.is_superuser,
        frozenset(user.get_all_permissions()),
    )
    html = _MENUS.get(key)
    if html is None:
        html = render_menu(user)
        if len(_MENUS) >= _MAX_MENUS:
            _MENUS.clear()
        _MENUS[key] = html
    return mark_safe(html)  # rendered by the template engine, escaped there
