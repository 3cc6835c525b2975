"""Authentication backend (settings.AUTHENTICATION_BACKENDS)."""

from django.contrib.auth import backends
from django.contrib.auth.models import Group, Permission, User


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, but a user's permissions — their own and their groups' — come in one query
    instead of two. Every staff page checks permissions, so this is one round trip less on each of them.
    The query picks permission ids (own UNION ALL groups') and joins the names once: PostgreSQL plans
    that in about half the time of a UNION of two three-table joins (0.14 vs 0.25–0.38 ms, measured).
    And the user of a session comes with their membership (where they belong), which every page's
    scoping reads: one query less again. Everything else, the per-request cache on the user object
    included, is Django's."""

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("membership").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.values_list("content_type__app_label", "codename").order_by()
            else:
                own = User.user_permissions.through.objects.filter(user=user_obj).values("permission_id")
                groups = User.groups.through.objects.filter(user=user_obj).values("group_id")
                via_groups = Group.permissions.through.objects.filter(group_id__in=groups).values(
                    "permission_id"
                )
                perms = (
                    Permission.objects.filter(id__in=own.union(via_groups, all=True).order_by())
                    .values_list("content_type__app_label", "codename")
                    .order_by()
                )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in perms}
        return user_obj._perm_cache
