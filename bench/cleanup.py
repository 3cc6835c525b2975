"""What `make bench` writes, removed again before each run, so that every run reads the data set as it was
generated: the bookings and the intakes of earlier runs (marked by their purpose and title), then a VACUUM
of the tables they were in."""

BENCH_PURPOSE = "压测预约"  # marks the bench's own bookings
BENCH_TITLE = "压测：楼道灯不亮"  # marks the bench's own intakes


def clear_bench_bookings(fx) -> int:  # fx: bench/run.py's Fixture (its spaces and booking days)
    """Remove the future bookings earlier runs made, so that every run books into the same free slots:
    otherwise the slots fill up run after run and "booking POST" measures nothing but the 409 answer."""
    from django.db import transaction

    from stations.models import Booking

    with transaction.atomic():
        ours = Booking.objects.filter(
            space__in=fx.spaces, purpose=BENCH_PURPOSE, starts_at__date__gte=fx.booking_days[0]
        )
        return ours.delete()[0]


def clear_bench_requests(community_code: str = "G001") -> int:
    """Remove the requests earlier runs' intake POSTs made (their timelines, notifications and history go
    with them; the summary's triggers subtract them; vacuum_bench_writes follows). Otherwise every run
    leaves ~500 more open requests in G001's queue: after six runs the queue's counts read 3,943 open
    requests instead of 527, most of them from the heap (pages not yet all-visible), and the pages that
    count open requests got slower run after run."""
    from django.db import transaction

    from residents.models import Community
    from stations.models import ServiceRequest, SummaryMonth
    from stations.services.summary import MONTH_FIGURES

    with transaction.atomic():
        community = Community.objects.get(code=community_code)
        ours = ServiceRequest.objects.filter(community=community, title=BENCH_TITLE)
        pks = list(ours.values_list("pk", flat=True))
        ours.delete()
        ServiceRequest.history.model.objects.filter(id__in=pks).delete()  # the deletions' entries too
        # Each intake stored a step for its response deadline (a day ahead); removing the request set it
        # to zero, and a zero step is only folded away once its moment has passed. ~550 a run accumulated
        # and the dashboards summed them all (8,256 after fifteen runs).
        zero = {figure: 0 for figure in MONTH_FIGURES}
        SummaryMonth.objects.filter(community=community, at__isnull=False, **zero).delete()
    return len(pks)


# What the bench's POSTs write (besides counters), vacuumed once their rows are removed.
BENCH_WRITES = (
    "stations_servicerequest",
    "stations_requestevent",
    "stations_notification",
    "stations_historicalservicerequest",
    "stations_summarymonth",
    "stations_summaryday",
    "stations_booking",
    "stations_historicalbooking",
)


def vacuum_bench_writes() -> None:
    """VACUUM (ANALYZE) the tables the bench writes: the rows removed above leave dead tuples and pages
    that are not all-visible, so index-only scans would read the heap until autovacuum comes by."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in BENCH_WRITES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
