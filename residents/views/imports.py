"""Import of households and residents from a sheet: upload, check with progress, preview, apply.

The rules live in residents.imports; these views only route requests to it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from residents import imports, selectors
from residents.choices import ImportStatus
from residents.forms import ImportUploadForm

RECENT_IMPORTS = 20
IMPORT_PERMISSION = "residents.add_importbatch"
# Applying writes households and residents: the user needs those rights as well.
APPLY_PERMISSIONS = (
    IMPORT_PERMISSION,
    "residents.add_household",
    "residents.add_resident",
    "residents.change_resident",
)


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    community = selectors.home_community_for(request.user)
    if community is None:
        raise PermissionDenied
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = imports.import_batch_create(
                actor=request.user, community=community, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            return redirect(batch)
    # Rows and errors can be megabytes per batch; the list needs neither.
    batches = list(selectors.imports_visible_to(request.user).defer("rows", "errors")[:RECENT_IMPORTS])
    for batch in batches:
        batch.badge = imports.STATUS_BADGES[batch.status]
    context = {"form": form, "batches": batches, "community": community, "columns": imports.COLUMNS}
    return render(request, "residents/import_list.html", context)


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.get_import_for(request.user, pk)
    errors = imports.import_errors(batch) if batch.status == ImportStatus.INVALID else []
    context = {
        "batch": batch,
        "badge": imports.STATUS_BADGES[batch.status],
        "preview": imports.import_preview(batch) if batch.status == ImportStatus.READY else [],
        "errors": errors,
        "error_count": batch.summary.get("errors_total", len(errors)),
    }
    return render(request, "residents/import_detail.html", context)


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_POST
def import_check(request: HttpRequest, pk: int) -> HttpResponse:
    """One check step. htmx posts here again and again (the partial re-triggers itself) while rows remain;
    without JavaScript the button in <noscript> does the same one step per click."""
    batch = selectors.get_import_for(request.user, pk)
    batch = imports.import_batch_check(batch=batch)
    if not request.htmx:
        return redirect(batch)
    if batch.status != ImportStatus.VALIDATING:
        return HttpResponseClientRefresh()  # the whole page changes: errors or preview
    return render(request, "residents/import_detail.html#progress", {"batch": batch})


@login_required
@permission_required(APPLY_PERMISSIONS, raise_exception=True)
@require_POST
def import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.get_import_for(request.user, pk)
    try:
        summary = imports.import_batch_apply(actor=request.user, batch=batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _(
                "Imported: %(new)d new residents, %(updated)d changed, %(unchanged)d "
                "unchanged; %(households)d new households."
            )
            % {
                "new": summary["residents_new"],
                "updated": summary["residents_updated"],
                "unchanged": summary["residents_unchanged"],
                "households": summary["households_new"],
            },
        )
    return redirect(batch)
