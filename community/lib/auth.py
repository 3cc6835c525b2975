"""Authentication backend (settings.AUTHENTICATION_BACKENDS)."""

from django.contrib.auth import backends
from django.contrib.auth.models import Permission


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, but a user's permissions — their own and their groups' — come in one query
    (a UNION) instead of two. Every staff page checks permissions, so this is one round trip less on
    each of them. Everything else, the per-request cache on the user object included, is Django's."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.values_list("content_type__app_label", "codename").order_by()
            else:
                fields = ("content_type__app_label", "codename")
                own = Permission.objects.filter(user=user_obj).values_list(*fields).order_by()
                via_groups = Permission.objects.filter(group__user=user_obj).values_list(*fields).order_by()
                perms = own.union(via_groups).order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in perms}
        return user_obj._perm_cache
