"""Roles as groups with permissions, defined once. `sync_roles` makes the database match this table."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from stations.choices import Role

# What every desk worker does with requests, visits and errands.
_DESK = [
    ("stations", "view_servicerequest"),
    ("stations", "add_servicerequest"),
    ("stations", "handle_servicerequest"),
    ("stations", "view_visit"),
    ("stations", "add_visit"),
    ("stations", "view_recurringerrand"),
    ("stations", "add_recurringerrand"),
    ("stations", "view_category"),
    # Spaces and courses: book on behalf, approve, check in, block.
    ("stations", "view_space"),
    ("stations", "view_booking"),
    ("stations", "add_booking"),
    ("stations", "change_booking"),
    ("stations", "view_course"),
    ("stations", "change_course"),
]

# (app_label, codename) per role. Scope (which community) is decided by residents.selectors, not here.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    Role.WORKER: [
        ("residents", "view_resident"),
        ("residents", "add_resident"),
        ("residents", "change_resident"),
        ("residents", "view_household"),
        ("residents", "add_household"),
        ("residents", "change_household"),
        ("residents", "view_building"),
        ("residents", "view_enterprise"),
        ("residents", "view_community"),
        ("residents", "add_importbatch"),
        ("stations", "view_socialworker"),
        *_DESK,
    ],
    Role.HEAD: [
        ("residents", "view_resident"),
        ("residents", "add_resident"),
        ("residents", "change_resident"),
        ("residents", "view_household"),
        ("residents", "add_household"),
        ("residents", "change_household"),
        ("residents", "view_building"),
        ("residents", "view_enterprise"),
        ("residents", "view_community"),
        ("residents", "add_importbatch"),
        ("residents", "reveal_personal_data"),
        ("residents", "view_personaldataaccess"),
        ("residents", "export_personal_data"),
        ("residents", "view_personaldataexport"),
        ("residents", "erase_resident"),
        # The history of changes (django-simple-history) is the committee head's to read.
        ("residents", "view_historicalresident"),
        ("residents", "view_historicalhousehold"),
        ("stations", "view_historicalservicerequest"),
        ("stations", "view_historicalbooking"),
        ("stations", "view_socialworker"),
        ("stations", "change_socialworker"),
        ("stations", "add_leave"),
        *_DESK,
        ("stations", "manage_servicerequest"),
        ("stations", "add_space"),
        ("stations", "change_space"),
        ("stations", "add_course"),
        ("stations", "add_category"),
        ("stations", "change_category"),
    ],
    Role.SUBDISTRICT: [
        ("residents", "view_community"),
        ("residents", "view_building"),
        ("residents", "view_resident"),
        ("residents", "view_household"),
        ("residents", "view_enterprise"),
        ("stations", "view_socialworker"),
        ("stations", "view_servicerequest"),
        ("stations", "view_visit"),
    ],
    Role.RESIDENT: [],
}


def sync_roles() -> None:
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        query = Q(pk__in=[])
        for app_label, codename in perms:
            query |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(query))


def sync_roles_after_migrate(sender, **kwargs) -> None:
    sync_roles()


def user_roles(user) -> set[str]:
    """The role codes of a user (superusers count as committee heads for navigation)."""
    if not user.is_authenticated:
        return set()
    names = {group.name for group in user.groups.all()}
    if user.is_superuser:
        names.add(Role.HEAD)
    return names & set(Role.values)
