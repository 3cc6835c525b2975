"""ORM helpers shared by the selectors."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce


def count_subquery(queryset: QuerySet, link: str) -> Coalesce:
    """COUNT(*) of ``queryset`` rows whose ``link`` equals the outer row's pk, as a correlated
    subquery: unlike several Count() joins it does not multiply rows, so it stays fast at scale."""
    counted = (
        queryset.filter(**{link: OuterRef("pk")}).order_by().values(link).annotate(n=Count("*")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
