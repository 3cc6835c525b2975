"""URLs of many objects at once."""

from collections.abc import Callable

from django.urls import reverse

_SENTINEL = 2_147_483_647  # a pk no URL pattern contains otherwise


def pk_url_maker(name: str) -> Callable[[int], str]:
    """reverse(name, args=[pk]) for the many pks of a list's rows at the cost of one reverse() (one call
    each cost about as much as the rest of a row)."""
    prefix, _sentinel, suffix = reverse(name, args=[_SENTINEL]).rpartition(str(_SENTINEL))
    return lambda pk: f"{prefix}{pk}{suffix}"
