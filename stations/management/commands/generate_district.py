"""Generate a district of communities with a year or more of desk work, for load tests and benchmarks."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from stations.generate import PASSWORD, GeneratorRefused, Sizes, generate, generated_census


def _positive(value: str) -> int:
    number = int(value.replace("_", "").replace(",", ""))
    if number < 1:
        raise ValueError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Generate a district for load tests: communities (codes G001…), residents, social workers, "
        "requests with timelines and follow-up answers, visits, spaces, bookings and courses. "
        "Deterministic for a seed and an --until day. Refuses to run beside data it did not make "
        "unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--communities", type=_positive, default=50)
        parser.add_argument("--residents", type=_positive, default=200_000)
        parser.add_argument("--requests", type=_positive, default=1_000_000)
        parser.add_argument("--visits", type=int, default=None, help="Default: one per eight requests.")
        parser.add_argument("--months", type=_positive, default=15, help="Months of history (default 15).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--until",
            type=dt.date.fromisoformat,
            default=None,
            help="The history ends at midnight starting this day (YYYY-MM-DD; default today).",
        )
        parser.add_argument(
            "--password", default=PASSWORD, help=f"Of every generated login (default {PASSWORD})."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though the database holds data not made by the generator.",
        )
        parser.add_argument("--flush", action="store_true", help="Delete previously generated data first.")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing when generated data with these numbers of communities, residents and requests is here.",
        )
        parser.add_argument(
            "--stats-json", default="", help="Also write rows and seconds per table to this file."
        )

    def handle(self, *args, **options) -> None:
        if options["communities"] > 999:
            raise CommandError("At most 999 communities (codes G001–G999).")
        if options["residents"] < options["communities"] * 10:
            raise CommandError("Give at least ten residents per community.")
        sizes = Sizes(
            communities=options["communities"],
            residents=options["residents"],
            requests=options["requests"],
            visits=options["visits"],
            months=options["months"],
            seed=options["seed"],
            until=options["until"],
            password=options["password"],
        )
        if options["if_missing"]:
            census = generated_census()
            if (census.communities, census.residents) == (sizes.communities, sizes.residents) and (
                census.requests >= sizes.requests
            ):
                self.stdout.write(
                    f"Generated data of this size is here ({census.requests:,} requests); kept."
                )
                return
            options["flush"] = True
        try:
            stats = generate(sizes, write=self.stdout.write, force=options["force"], flush=options["flush"])
        except GeneratorRefused as exc:
            raise CommandError(str(exc)) from None
        width = max(len(label) for label in stats)
        self.stdout.write(f"{'table':<{width}}  {'rows':>11}  {'seconds':>8}  {'rows/s':>10}")
        for label, stat in stats.items():
            rate = f"{stat.rows / stat.seconds:,.0f}" if stat.rows and stat.seconds else ""
            self.stdout.write(f"{label:<{width}}  {stat.rows:>11,}  {stat.seconds:>8.1f}  {rate:>10}")
        total = stats["(total)"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {sizes.requests:,} requests and {total.rows:,} rows in {total.seconds:.0f}s. "
                f"Logins: g001_head, g001_sg01, gs01_staff … (password {sizes.password})."
            )
        )
        if options["stats_json"]:
            with open(options["stats_json"], "w", encoding="utf-8") as out:
                json.dump(
                    {k: {"rows": v.rows, "seconds": round(v.seconds, 2)} for k, v in stats.items()},
                    out,
                    indent=2,
                )
