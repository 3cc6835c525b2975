"""Small view helpers shared by the apps."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import HttpRequest


def id_param(value: str | None) -> int | None:
    """A database id from a query or form parameter, else None: ASCII digits only ("²".isdigit() is True
    and int("²") fails), at most 12 of them (within a bigint, so no overflow reaches the database)."""
    if value and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def paginate(
    request: HttpRequest, queryset, per_page: int | None = None, *, count: int | None = None
) -> Page:
    """A page of the queryset; out-of-range or junk page numbers give the nearest valid page.

    `count`: the number of rows, when the page already counted them in another query (saves a COUNT)."""
    paginator = Paginator(queryset, per_page or settings.PAGE_SIZE)
    if count is not None:
        paginator.count = count  # Paginator.count is a cached_property: this is its cached value
    return paginator.get_page(request.GET.get("page"))


def client_ip(request: HttpRequest) -> str | None:
    # Behind the production proxy, REMOTE_ADDR is set from X-Forwarded-For by the proxy's config.
    return request.META.get("REMOTE_ADDR") or None


def add_service_errors(form: Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: field errors on their fields, others on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def querystring_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def is_stale(exc: ValidationError) -> bool:
    """True when a service refused a write because the record changed since the form was shown."""
    return not hasattr(exc, "error_dict") and any(e.code == "stale" for e in exc.error_list)
