"""The request list's filters (django-filter). The drill-down filters (responded, solved, satisfaction,
rated, received_after/received_before, and rate + period with community / line / worker_type) are what
dashboard links put in the query string, so a figure on the dashboard opens exactly the rows it counts:
`rate` applies the very Q object the dashboard counted (stations.rates.FIGURES)."""

import datetime as dt
import functools

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import fields as filter_fields

from community.lib.choices import BuildingRows, choice_rows, grouped_by_community
from community.lib.compiled import CompiledGet, CompiledRows
from community.lib.filtersets import LeanFilterSet
from community.lib.validators import validate_plausible_date
from residents.models import Building, Community
from residents.selectors import (
    BUILDING_CHOICE_ROWS,
    communities_visible_to,
    only_community_id,
    spans_communities,
)
from stations import rates
from stations.choices import OPEN_STATES, Channel, Satisfaction, StationLine, Status, WorkerType
from stations.models import Category, ServiceRequest, SocialWorker

# sort parameter → order_by. Anything else falls back to the default (newest first).
SORTS: dict[str, tuple[str, ...]] = {
    "received": ("-received_at", "-pk"),
    "deadline": ("resolution_due_at", "pk"),
    "status": ("status", "-received_at", "-pk"),
}
DEFAULT_SORT = "received"
SORT_CHOICES = [
    ("received", _("Newest first")),
    ("deadline", _("Deadline")),
    ("status", _("Status")),
]
ANY_YES_NO = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class DateOrDateTimeField(forms.Field):
    """Accepts 2026-03-01 or 2026-03-01T08:00[:00][+08:00]; a date comes back as a date, a time as an
    aware datetime (naive values are read in the project's time zone)."""

    default_validators = [validate_plausible_date]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = str(value).strip()
        try:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
            parsed = dt.datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError:
            raise ValidationError(
                _("Enter a date (YYYY-MM-DD) or a date and time."), code="invalid"
            ) from None
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class ReceivedBoundFilter(django_filters.Filter):
    """received_after (inclusive) / received_before (exclusive). A date means the whole day: after a
    date is from its start, before a date includes that day."""

    field_class = DateOrDateTimeField

    def __init__(self, *args, upper: bool, **kwargs):
        self.upper = upper
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if isinstance(value, dt.datetime):
            bound = value
        else:
            bound = _start_of(value + dt.timedelta(days=1) if self.upper else value)
        return qs.filter(received_at__lt=bound) if self.upper else qs.filter(received_at__gte=bound)


class CommunityChoiceField(BuildingRows, filter_fields.ModelChoiceField):
    """Choices read as rows and, for a user who sees several communities, grouped under their community
    (community.lib.choices). This one is the buildings'."""

    iterator = grouped_by_community(filter_fields.ModelChoiceIterator)


class CategoryChoiceField(CommunityChoiceField):
    row_columns = ("name", "parent__name")

    def label_from_instance(self, obj: Category) -> str:
        return f"{obj.parent.name} / {obj.name}" if obj.parent_id else obj.name

    def label_from_row(self, row) -> str:
        return f"{row.parent__name} / {row.name}" if row.parent__name else row.name


class WorkerChoiceField(CommunityChoiceField):
    row_columns = ("display_name",)

    def label_from_instance(self, obj: SocialWorker) -> str:
        return obj.display_name

    def label_from_row(self, row) -> str:
        return row.display_name


class CategoryFilter(django_filters.ModelChoiceFilter):
    field_class = CategoryChoiceField


class WorkerFilter(django_filters.ModelChoiceFilter):
    field_class = WorkerChoiceField


class BuildingFilter(django_filters.ModelChoiceFilter):
    field_class = CommunityChoiceField


def _categories(communities) -> QuerySet[Category]:
    return (
        Category.objects.filter(community__in=communities)
        .select_related("parent", "community")
        .order_by("community", "parent__position", "parent__name", "position", "name")
    )


def _buildings(communities) -> QuerySet[Building]:
    return (
        Building.objects.filter(community__in=communities)
        .select_related("community")
        .order_by("community", "position", "number")
    )


def _workers(communities) -> QuerySet[SocialWorker]:
    return (
        SocialWorker.objects.filter(community__in=communities)
        .select_related("community")
        .order_by("community", "display_name")
    )


def _compiled(field_class: type[CommunityChoiceField], choices) -> CompiledRows:
    """The rows of a select's choices in one community, compiled once per process."""
    model = choices([]).model
    return CompiledRows(model, lambda community: choice_rows(choices([community]), field_class.row_columns))


def _compiled_get(choices) -> CompiledGet:
    """One of a select's choices in one community by its key (validating a submitted id), compiled once."""
    return CompiledGet(choices([]).model, lambda community, pk: choices([community]).filter(pk=pk))


_CHILDREN = CompiledRows(Category, lambda parent: Category.objects.filter(parent=parent).values_list("pk"))

# filter name: (its choices over some communities, their rows in one community, one of them; compiled)
_SCOPED_CHOICES = {
    "category": (_categories, _compiled(CategoryChoiceField, _categories), _compiled_get(_categories)),
    "building": (_buildings, BUILDING_CHOICE_ROWS, _compiled_get(_buildings)),
    "assignee": (_workers, _compiled(WorkerChoiceField, _workers), _compiled_get(_workers)),
}


class ServiceRequestFilter(LeanFilterSet):
    """Filters of the request list. Querysets of the choice filters are scoped to the user's communities."""

    q = django_filters.CharFilter(label=_("Search"), method="filter_text", max_length=100)
    # distinct=False: a column of the request itself, so no row can repeat (DISTINCT over every column of
    # the list's joins cost more than the filter).
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=Status.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    line = django_filters.ChoiceFilter(
        label=_("Station line"), choices=StationLine.choices, empty_label=_("All lines")
    )
    category = CategoryFilter(
        label=_("Category"),
        queryset=Category.objects.none(),
        method="filter_category",
        empty_label=_("All categories"),
    )
    building = BuildingFilter(
        label=_("Building"), queryset=Building.objects.none(), empty_label=_("All buildings")
    )
    assignee = WorkerFilter(
        label=_("Assigned to"),
        queryset=SocialWorker.objects.none(),
        empty_label=_("Anyone"),
        null_label=_("Unassigned (shared)"),
    )
    channel = django_filters.ChoiceFilter(
        label=_("Channel"), choices=Channel.choices, empty_label=_("All channels")
    )
    overdue = django_filters.BooleanFilter(
        label=_("Overdue"), method="filter_overdue", widget=forms.Select(choices=ANY_YES_NO)
    )
    received_from = django_filters.DateFilter(
        label=_("Received from"),
        field_name="received_at",
        method="filter_received_from",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_plausible_date],
    )
    received_to = django_filters.DateFilter(
        label=_("Received until"),
        field_name="received_at",
        method="filter_received_to",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_plausible_date],
    )
    # Drill-down filters: set by dashboard links, kept as hidden fields by the list's form.
    responded = django_filters.BooleanFilter(label=_("Responded in time"), method="filter_responded")
    solved = django_filters.BooleanFilter(label=_("Solved"), field_name="solved")
    satisfaction = django_filters.MultipleChoiceFilter(
        label=_("Satisfaction"), choices=Satisfaction.choices, distinct=False
    )
    rated = django_filters.BooleanFilter(
        label=_("Follow-up answered"), field_name="rated_at", lookup_expr="isnull", exclude=True
    )
    received_after = ReceivedBoundFilter(label=_("Received from"), upper=False)
    received_before = ReceivedBoundFilter(label=_("Received before"), upper=True)
    rate = django_filters.ChoiceFilter(
        label=_("Dashboard figure"), choices=rates.FIGURE_CHOICES, method="filter_rate"
    )
    period = django_filters.CharFilter(label=_("Month"), method="filter_period", max_length=7)
    worker_type = django_filters.ChoiceFilter(
        label=_("Worker type"), choices=WorkerType.choices, field_name="category__worker_type"
    )
    # A drill-down filter for a member of one community; a select of its own for subdistrict staff.
    community = django_filters.ModelChoiceFilter(
        label=_("Community"), queryset=Community.objects.none(), empty_label=_("All communities")
    )
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=SORT_CHOICES, method="filter_sort", empty_label=None
    )

    DRILL_DOWN = (
        "responded",
        "solved",
        "satisfaction",
        "rated",
        "received_after",
        "received_before",
        "rate",
        "period",
        "worker_type",
        "community",
    )

    class Meta:
        model = ServiceRequest
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, user, **kwargs):
        super().__init__(data, queryset, **kwargs)
        communities = communities_visible_to(user)
        # Subdistrict staff choose a community in the form; for others it only comes from dashboard links.
        self.shows_community = spans_communities(user)
        self.filters["community"].queryset = communities.order_by("name")
        one = only_community_id(user)
        for name, (choices, rows, get) in _SCOPED_CHOICES.items():
            self.filters[name].queryset = choices(communities)
            if one is not None:
                self.filters[name].extra["compiled_rows"] = functools.partial(rows, one)
                self.filters[name].extra["compiled_get"] = functools.partial(get, one)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        # The default order applies when sort is missing or not one of the whitelisted keys.
        if not self.form.cleaned_data.get("sort"):
            queryset = queryset.order_by(*SORTS[DEFAULT_SORT])
        return queryset

    @property
    def active_drill_downs(self) -> list[tuple[str, str]]:
        """(name, raw value) of the drill-down filters in the query string, for hidden inputs."""
        if not self.is_bound:
            return []
        pairs = []
        for name in self.DRILL_DOWN:
            if name == "community" and self.shows_community:
                continue  # the form's own select carries it
            pairs += [(name, value) for value in self.data.getlist(name) if value]
        return pairs

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(title__icontains=value)
            | Q(contact_name__icontains=value)
            | Q(requester__name__icontains=value)
        )

    def filter_category(self, queryset, name, value):
        # A parent category stands for itself and all its children.
        # As a literal list of category ids (one small query for the children), not a subquery or an OR
        # over the category join: PostgreSQL then estimates the rows (with sr_community_fk_stats) and reads
        # the first page in order from sr_comm_category_idx (0.4 ms) instead of joining and sorting all
        # the category's requests (10 ms), and plans it in 1 ms instead of 4.
        if not value:
            return queryset
        family = [value.pk, *(pk for (pk,) in _CHILDREN(value.pk))]
        return queryset.filter(category__in=family)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(status__in=OPEN_STATES, resolution_due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_received_from(self, queryset, name, value):
        return queryset.filter(received_at__gte=_start_of(value)) if value else queryset

    def filter_received_to(self, queryset, name, value):
        return queryset.filter(received_at__lt=_start_of(value + dt.timedelta(days=1))) if value else queryset

    def filter_responded(self, queryset, name, value):
        if value is None:
            return queryset
        in_time = Q(accepted_at__isnull=False, accepted_at__lte=F("response_due_at"))
        return queryset.filter(in_time) if value else queryset.exclude(in_time)

    def filter_period(self, queryset, name, value):
        return queryset  # read by filter_rate

    def filter_rate(self, queryset, name, value):
        if not value:
            return queryset
        now = timezone.now()
        period = rates.Period.parse(self.form.cleaned_data.get("period")) or rates.Period.containing(now)
        return queryset.filter(rates.figure_q(value, period, now))

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*SORTS.get(value, SORTS[DEFAULT_SORT]))
