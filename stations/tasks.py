"""Background jobs of the desk (django.tasks). Each task is a thin call of a service, so a job does what
the same service does when called from a view or a command.

Where they run is the TASKS setting (community/settings.py): without TASKS_BACKEND they run at once in
the process that enqueues them (the ImmediateBackend: tests and development need no worker); with
TASKS_BACKEND=database they wait in a table on the primary (django-tasks-db) for
`manage.py db_worker`. Arguments are ids and plain values: a task must survive JSON and a worker that
reads the rows later."""

import datetime as dt

from django.tasks import task

from stations.services import notifications


@task()
def send_notifications(*, event_id: int, user_ids: list[int]) -> int:
    """The in-app notices of a request event (assigned, urged, reopened…), enqueued after the commit
    that recorded the event. Sending the same notices twice adds nothing (one per user and event)."""
    return notifications.notifications_send(event_id=event_id, user_ids=user_ids)


@task()
def create_due_errands(*, today: str | None = None) -> int:
    """The nightly errands: the request of every recurring errand due on `today` (ISO date; default:
    the day the worker runs it) or earlier. Idempotent, like the service it calls."""
    from stations.services import visits  # here: visits → requests → this module at import time

    day = dt.date.fromisoformat(today) if today else None
    return visits.create_due_errands(today=day)
