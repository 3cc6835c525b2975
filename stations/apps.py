from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def erase_request_contacts(*, resident, actor) -> None:
    """Erasure hook (residents.privacy.ERASURE_HOOKS): a resident's requests keep their place in the
    statistics, but the contact name and phone written on them go, from the rows and from their history.
    Runs inside resident_erase's transaction."""
    from django.db.models import F, Q

    from stations.models import ServiceRequest

    requests = ServiceRequest.objects.filter(requester=resident)
    ids = list(requests.values_list("pk", flat=True))
    # The version moves on, so a form opened before the erasure cannot write the old values back.
    requests.update(contact_name="", contact_phone="", version=F("version") + 1)
    ServiceRequest.history.filter(Q(id__in=ids) | Q(requester_id=resident.pk)).update(
        contact_name="", contact_phone=""
    )


class StationsConfig(AppConfig):
    name = "stations"
    verbose_name = _("The one desk")

    def ready(self) -> None:
        from residents.privacy import register_erasure_hook
        from stations.roles import sync_roles_after_migrate

        # Groups and their permissions are data derived from one table (stations.roles); keep them in
        # step after every migrate, when the permission rows exist.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
        # residents never imports stations: the personal data stations keeps is erased through this hook.
        register_erasure_hook(erase_request_contacts)
