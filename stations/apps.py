from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StationsConfig(AppConfig):
    name = "stations"
    verbose_name = _("The one desk")

    def ready(self) -> None:
        from stations.roles import sync_roles_after_migrate

        # Groups and their permissions are data derived from one table (stations.roles); keep them in
        # step after every migrate, when the permission rows exist.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
