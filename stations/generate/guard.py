"""Which data the generator made, and removing it again. Generated communities have codes G001…,
generated subdistricts belong to the district 生成区, generated logins start with g001_ or gs01_.
Everything else is somebody's real (or demo) data, which the generator refuses to run beside
unless told to, and never deletes."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from residents.models import (
    Building,
    Community,
    Enterprise,
    Household,
    ImportBatch,
    Membership,
    PersonalDataAccess,
    Resident,
    Subdistrict,
)
from stations.generate.world import CODE_REGEX, DISTRICT, USERNAME_REGEX
from stations.models import (
    Attendance,
    Booking,
    BookingSeries,
    Category,
    ClosedDate,
    Course,
    Enrolment,
    Extension,
    Leave,
    Notification,
    OpeningHours,
    Rating,
    RecurringErrand,
    ReferenceCounter,
    RequestEvent,
    RequestNote,
    RequestPhoto,
    ServiceRequest,
    SocialWorker,
    Space,
    Station,
    Visit,
)


@dataclass(frozen=True)
class Census:
    communities: int
    residents: int
    requests: int


def foreign_data() -> list[str]:
    """What in the database the generator did not make (empty when there is nothing of the sort)."""
    found = []
    communities = Community.objects.exclude(code__regex=CODE_REGEX).count()
    if communities:
        requests = ServiceRequest.objects.exclude(community__code__regex=CODE_REGEX).count()
        found.append(f"{communities} communities and {requests} requests not made by the generator")
    subdistricts = Subdistrict.objects.exclude(district=DISTRICT).count()
    if subdistricts:
        found.append(f"{subdistricts} subdistricts not made by the generator")
    return found


def generated_census() -> Census:
    generated = Q(community__code__regex=CODE_REGEX)
    return Census(
        communities=Community.objects.filter(code__regex=CODE_REGEX).count(),
        residents=Resident.objects.filter(generated).count(),
        requests=ServiceRequest.objects.filter(generated).count(),
    )


def _delete(queryset: QuerySet) -> int:
    # A plain DELETE … WHERE: the generated rows are many and have no signals or files to look after.
    return queryset._raw_delete(queryset.db)


def flush_generated() -> int:
    """Delete everything the generator made (and whatever was added to its communities since, such as
    the requests and bookings of a benchmark run). Returns the number of rows deleted."""
    communities = list(Community.objects.filter(code__regex=CODE_REGEX).values_list("pk", flat=True))
    users = User.objects.filter(username__regex=USERNAME_REGEX)
    c = communities
    steps: list[QuerySet] = [
        Attendance.objects.filter(session__space__community__in=c),
        Enrolment.objects.filter(course__community__in=c),
        Booking.objects.filter(space__community__in=c),
        BookingSeries.objects.filter(space__community__in=c),
        ClosedDate.objects.filter(space__community__in=c),
        OpeningHours.objects.filter(space__community__in=c),
        Course.objects.filter(community__in=c),
        Space.objects.filter(community__in=c),
        Notification.objects.filter(event__request__community__in=c),
        Notification.objects.filter(user__in=users),
        RequestEvent.objects.filter(request__community__in=c),
        Rating.objects.filter(request__community__in=c),
        RequestNote.objects.filter(request__community__in=c),
        RequestPhoto.objects.filter(request__community__in=c),
        Extension.objects.filter(request__community__in=c),
        ServiceRequest.assisting.through.objects.filter(servicerequest__community__in=c),
        ServiceRequest.objects.filter(community__in=c),
        RecurringErrand.objects.filter(community__in=c),
        Visit.objects.filter(community__in=c),
        Leave.objects.filter(worker__community__in=c),
        SocialWorker.buildings.through.objects.filter(socialworker__community__in=c),
        SocialWorker.objects.filter(community__in=c),
        ReferenceCounter.objects.filter(community__in=c),
        Category.objects.filter(community__in=c, parent__isnull=False),
        Category.objects.filter(community__in=c),
        Station.objects.filter(community__in=c),
        Resident.care_tags.through.objects.filter(resident__community__in=c),
        PersonalDataAccess.objects.filter(resident__community__in=c),
        ImportBatch.objects.filter(community__in=c),
        Resident.objects.filter(community__in=c),
        Enterprise.objects.filter(community__in=c),
        Household.objects.filter(building__community__in=c),
        Building.objects.filter(community__in=c),
        Membership.objects.filter(Q(community__in=c) | Q(subdistrict__district=DISTRICT)),
    ]
    deleted = sum(_delete(queryset) for queryset in steps)
    # Logins are few: the ORM deletes them with what hangs off them (groups, sessions' owners, admin log).
    deleted += users.delete()[0]
    deleted += _delete(Community.objects.filter(pk__in=c))
    deleted += _delete(Subdistrict.objects.filter(district=DISTRICT, communities__isnull=True))
    return deleted
