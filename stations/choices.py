"""Choices of the one desk. Labels and badge colours come from one mapping each."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class StationLine(models.TextChoices):
    """The old station a matter would have gone to. Kept for statistics; never a separate queue."""

    PARTY = "party", _("Party-building")
    COMMUNITY = "community", _("Community")
    BUSINESS = "business", _("Business-building")


class WorkerType(models.TextChoices):
    """The three kinds of social worker (社工): they drive routing, workload and per-type figures."""

    LIAISON = "liaison", _("Resident liaison (民情)")
    PROJECT = "project", _("Project (项目)")
    GOVERNMENT = "government", _("Government affairs (政务)")


class Role(models.TextChoices):
    """Roles are Django groups with these names; their permissions are listed in stations.roles."""

    WORKER = "social_worker", _("Social worker")
    HEAD = "committee_head", _("Committee head")
    SUBDISTRICT = "subdistrict_staff", _("Subdistrict staff")
    RESIDENT = "resident", _("Resident")


class Channel(models.TextChoices):
    """How a request reached the desk. Visits and proactive finds are 未诉先办 (handled before anyone complains)."""

    WALK_IN = "walk_in", _("Walk-in (来访)")
    PHONE = "phone", _("Phone")
    VISIT = "visit", _("Home visit (走访)")
    HOTLINE = "hotline", _("12345 hotline transfer")
    ONLINE = "online", _("Online")
    PROACTIVE = "proactive", _("Found proactively (主动发现)")


PROACTIVE_CHANNELS = frozenset({Channel.VISIT, Channel.PROACTIVE})


class Status(models.TextChoices):
    NEW = "new", pgettext_lazy("request status", "New")
    ACCEPTED = "accepted", _("Accepted (签收)")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved (办结), awaiting follow-up")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATES = frozenset({Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS})
CLOSED_STATES = frozenset({Status.CLOSED, Status.CANCELLED})

STATUS_BADGE = {
    Status.NEW: "primary",
    Status.ACCEPTED: "info",
    Status.IN_PROGRESS: "warning",
    Status.RESOLVED: "success",
    Status.CLOSED: "secondary",
    Status.CANCELLED: "dark",
}


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class TimeUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    WORKING_DAYS = "working_days", _("working days")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASIC = "basic", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


class RatingSource(models.TextChoices):
    REQUESTER = "requester", _("Answered by the requester")
    CALLBACK = "callback", _("Follow-up call (回访) by a worker")


class EventKind(models.TextChoices):
    CREATED = "created", _("Received")
    STATUS = "status", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    HANDOVER = "handover", _("Handed over (leave)")
    URGED = "urged", _("Urged (催办)")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested (延期)")
    EXTENSION_APPROVED = "extension_approved", _("Extension approved")
    EXTENSION_REJECTED = "extension_rejected", _("Extension rejected")
    RATED = "rated", _("Follow-up answered (回访)")
    REOPENED = "reopened", _("Reopened for rework")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Action(models.TextChoices):
    """What a user can do to a request; the detail page shows the buttons the workflow allows."""

    ACCEPT = "accept", _("Accept (签收)")
    START = "start", _("Start work")
    RESOLVE = "resolve", _("Mark resolved (办结)")
    CANCEL = "cancel", _("Cancel")
    URGE = "urge", _("Urge (催办)")
    REASSIGN = "reassign", _("Reassign")
    REQUEST_EXTENSION = "request_extension", _("Request extension (延期)")
    DECIDE_EXTENSION = "decide_extension", _("Decide extension")
    RECORD_CALLBACK = "record_callback", _("Record follow-up call (回访)")
    NOTE = "note", _("Add note")


class SpaceKind(models.TextChoices):
    DISCUSSION = "discussion", _("Discussion space (议事空间)")
    PUBLIC_WELFARE = "public_welfare", _("Public-welfare space (公益空间)")
    ACTIVITY_HALL = "activity_hall", _("Activity hall")
    MEETING_ROOM = "meeting_room", _("Meeting room")
    CLASSROOM = "classroom", _("Classroom")
    OTHER = "other", _("Other")


class BookingKind(models.TextChoices):
    """What holds a space: somebody's booking, a course session, or a block (maintenance)."""

    BOOKING = "booking", _("Booking")
    COURSE = "course", _("Course session")
    BLOCK = "block", _("Blocked")


class BookingStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    CHECKED_IN = "checked_in", _("Checked in")
    NO_SHOW = "no_show", _("No-show")


# Bookings in these states hold their time: no other active booking of the space may overlap.
ACTIVE_BOOKING_STATES = frozenset(
    {BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW}
)

BOOKING_BADGE = {
    BookingStatus.PENDING: "warning",
    BookingStatus.CONFIRMED: "success",
    BookingStatus.REJECTED: "danger",
    BookingStatus.CANCELLED: "secondary",
    BookingStatus.CHECKED_IN: "primary",
    BookingStatus.NO_SHOW: "dark",
}


class EnrolmentStatus(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    WAITLISTED = "waitlisted", _("On the waiting list")
    LEFT = "left", _("Left")


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("No-show")
