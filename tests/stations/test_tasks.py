"""Background jobs (stations/tasks.py, django.tasks): the notices of a request event are sent by a task
enqueued after commit, the nightly errands are a task, and the settings pick the backend — at once in
the process by default, a table and `manage.py db_worker` with TASKS_BACKEND=database."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.tasks import default_task_backend
from django.utils import timezone

from stations import tasks
from stations.choices import EventKind
from stations.models import Category, Notification, RequestEvent, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create, service_request_urge
from stations.services.visits import errand_create

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
DUMMY = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


@pytest.fixture
def logged(head_a, community_a, medicine, resident_a, worker_a, django_capture_on_commit_callbacks):
    """A request the head logged; routing gives it to worker_a, who is notified."""
    with django_capture_on_commit_callbacks(execute=True):
        service_request, _created = service_request_create(
            actor=head_a, community=community_a, category=medicine, title="开药", requester=resident_a
        )
    return service_request


def test_without_the_setting_tasks_run_at_once():
    if os.environ.get("TASKS_BACKEND"):
        pytest.skip("this run chose a task backend")
    assert django_settings.TASKS["default"]["BACKEND"] == "django.tasks.backends.immediate.ImmediateBackend"
    assert "django_tasks_db" not in django_settings.INSTALLED_APPS


def test_intake_notifies_the_assignee_through_the_task(logged, worker_a):
    assert logged.assignee == worker_a
    event = RequestEvent.objects.get(request=logged, kind=EventKind.ASSIGNED)
    [notice] = Notification.objects.filter(user=worker_a.user)
    assert (notice.event, notice.read_at) == (event, None)


def test_the_task_is_enqueued_after_commit_with_ids_only(
    settings, head_a, community_a, medicine, resident_a, worker_a, django_capture_on_commit_callbacks
):
    settings.TASKS = DUMMY
    with django_capture_on_commit_callbacks() as after_commit:
        service_request, _created = service_request_create(
            actor=head_a, community=community_a, category=medicine, title="开药", requester=resident_a
        )
    assert default_task_backend.results == []  # nothing before the commit
    for callback in after_commit:
        callback()
    [enqueued] = default_task_backend.results
    event = RequestEvent.objects.get(request=service_request, kind=EventKind.ASSIGNED)
    assert enqueued.task.module_path == "stations.tasks.send_notifications"
    assert (enqueued.args, enqueued.kwargs) == ([], {"event_id": event.pk, "user_ids": [worker_a.user_id]})
    assert not Notification.objects.exists()  # the dummy backend keeps it; a worker would send it


def test_a_rolled_back_intake_enqueues_nothing(
    settings, head_a, community_a, medicine, resident_a, django_capture_on_commit_callbacks
):
    settings.TASKS = DUMMY
    medicine.is_active = False  # the service refuses: nothing is saved, nothing is sent
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="category"):
        service_request_create(
            actor=head_a, community=community_a, category=medicine, title="开药", requester=resident_a
        )
    assert default_task_backend.results == []
    assert not ServiceRequest.objects.exists()


def test_sending_the_same_notices_again_adds_nothing(logged, worker_a, head_a):
    event = RequestEvent.objects.get(request=logged, kind=EventKind.ASSIGNED)
    result = tasks.send_notifications.enqueue(event_id=event.pk, user_ids=[worker_a.user_id, head_a.pk])
    assert result.status == "SUCCESSFUL" and result.return_value == 2
    assert Notification.objects.filter(event=event).count() == 2  # the head's is new, the worker's kept


def test_urging_notifies_the_assignee_and_not_the_one_who_urged(
    logged, head_a, worker_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request_urge(service_request=logged, actor=head_a, note="快点")
    urged = RequestEvent.objects.get(request=logged, kind=EventKind.URGED)
    assert list(Notification.objects.filter(event=urged).values_list("user_id", flat=True)) == [
        worker_a.user_id
    ]


def test_the_nightly_errands_task_creates_the_due_requests_once(worker_a, resident_a, medicine):
    today = timezone.localdate()
    errand_create(
        actor=worker_a.user,
        resident=resident_a,
        category=medicine,
        title="代开药",
        every_days=14,
        first_due_on=today,
        assignee=worker_a,
    )
    first = tasks.create_due_errands.enqueue(today=today.isoformat())
    again = tasks.create_due_errands.enqueue()
    assert (first.status, first.return_value) == ("SUCCESSFUL", 1)
    assert (again.status, again.return_value) == ("SUCCESSFUL", 0)
    made = ServiceRequest.objects.get()
    assert (made.requester, made.errand.next_due_on) == (resident_a, today + dt.timedelta(days=14))


def test_an_unknown_backend_stops_start_up():
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "community.settings", "TASKS_BACKEND": "celery"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "TASKS_BACKEND must be 'immediate' or 'database'" in done.stderr


def test_database_backend_queues_the_task_until_the_worker_runs_it(tmp_path):
    # End to end in fresh processes on a scratch SQLite database: migrate (the queue table is
    # django-tasks-db's own migration), enqueue as a request would, then one batch of `db_worker`.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "community.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tasks.sqlite3'}",
        "TASKS_BACKEND": "database",
        "LOG_LEVEL": "ERROR",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)

    assert run(sys.executable, "manage.py", "migrate", "--noinput", "-v", "0").returncode == 0
    enqueue = run(
        sys.executable,
        "-c",
        "import django; django.setup()\n"
        "from stations import tasks\n"
        "result = tasks.create_due_errands.enqueue()\n"
        "print(result.status)\n",
    )
    assert enqueue.returncode == 0, enqueue.stderr
    assert enqueue.stdout.strip() == "READY"  # queued in the table, not run
    worker = run(sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay")
    assert worker.returncode == 0, worker.stderr
    check = run(
        sys.executable,
        "-c",
        "import django; django.setup()\n"
        "from django_tasks_db.models import DBTaskResult\n"
        "print([(r.task_path, r.status, r.return_value) for r in DBTaskResult.objects.all()])\n",
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "[('stations.tasks.create_due_errands', 'SUCCESSFUL', 0)]"
