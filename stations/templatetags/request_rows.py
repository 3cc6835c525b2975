"""`{% request_rows page %}`: the rows of the request list and the queue, built in Python.

These are the two busiest staff pages; a row rendered by the template engine (an include, a dozen
variables, three translations, a date filter and a reverse() each) cost about 1 ms, a page of 25
rows ~25 ms at district scale. Here a row is one format_html() call: every value is escaped by it,
the translations (labels of status and urgency included: get_status_display() rebuilds the choices'
dictionary on every call) are looked up once per page and the detail URL is reversed once.

The rows are what stations.selectors.requests.request_rows_for gives: named tuples of its ROW_FIELDS
(and `community_name` for a user who sees several communities)."""

from collections.abc import Iterable

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from community.lib.html import format_html
from community.lib.urls import pk_url_maker
from stations.choices import STATUS_BADGE, Status, Urgency

register = template.Library()

ROW = (
    '<a class="list-group-item list-group-item-action" href="{url}">\n'
    '  <div class="d-flex justify-content-between align-items-start gap-2">\n'
    "    <div>\n"
    '      <div class="small text-body-secondary"><span class="masked">{reference}</span>{community} · {category}'
    "{building}{urgency}</div>\n"
    '      <div class="fw-semibold">{title}</div>\n'
    "    </div>\n"
    '    <span class="badge text-bg-{badge} text-nowrap">{status}</span>\n'
    "  </div>\n"
    '  <div class="small {due_class}">\n'
    "    {due} {due_at}{overdue}\n"
    "    · {assignee}\n"
    "  </div>\n"
    "</a>\n"
)


@register.simple_tag
def request_rows(requests: Iterable[tuple], show_community: bool = False) -> SafeString:
    """The rows; with show_community (a user who sees several communities) each names its community,
    which the rows must then carry (`community_name`)."""
    url_for = pk_url_maker("stations:request_detail")
    due, overdue, unassigned = gettext("Due"), gettext("overdue"), gettext("unassigned")
    overdue_suffix = format_html(" · {}", overdue)
    status_labels = {value: str(label) for value, label in Status.choices}
    urgent = format_html(' · <span class="text-danger fw-semibold">{}</span>', Urgency.URGENT.label)
    rows = []
    for r in requests:
        rows.append(
            format_html(
                ROW,
                url=url_for(r.pk),
                reference=r.reference,
                community=format_html(" · {}", r.community_name) if show_community else "",
                category=r.category_name,
                building=format_html(" · {}", r.building_number) if r.building_id else "",
                urgency=urgent if r.urgency == Urgency.URGENT else "",
                title=r.title,
                badge=STATUS_BADGE[r.status],
                status=status_labels[r.status],
                due_class="text-danger fw-semibold" if r.is_overdue else "text-body-secondary",
                due=due,
                due_at=timezone.localtime(r.resolution_due_at).strftime("%Y-%m-%d %H:%M"),
                overdue=overdue_suffix if r.is_overdue else "",
                assignee=r.assignee_name if r.assignee_id else unassigned,
            )
        )
    return mark_safe("".join(rows))  # each row was built by format_html
