"""Models of the one desk, one module per topic."""

from stations.models.requests import (
    Category,
    Extension,
    Notification,
    Rating,
    ReferenceCounter,
    RequestEvent,
    RequestNote,
    RequestPhoto,
    ServiceRequest,
)
from stations.models.spaces import (
    Attendance,
    Booking,
    BookingSeries,
    ClosedDate,
    Course,
    Enrolment,
    OpeningHours,
    Space,
)
from stations.models.staff import Leave, SocialWorker, Station
from stations.models.summary import SummaryDay, SummaryMonth, SummaryResolution
from stations.models.visits import RecurringErrand, Visit

__all__ = [
    "Attendance",
    "Booking",
    "BookingSeries",
    "ClosedDate",
    "Course",
    "Enrolment",
    "OpeningHours",
    "Space",
    "Category",
    "Extension",
    "Leave",
    "Notification",
    "Rating",
    "RecurringErrand",
    "ReferenceCounter",
    "RequestEvent",
    "RequestNote",
    "RequestPhoto",
    "ServiceRequest",
    "SocialWorker",
    "Station",
    "SummaryDay",
    "SummaryMonth",
    "SummaryResolution",
    "Visit",
]
