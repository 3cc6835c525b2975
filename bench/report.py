"""The benchmark's report: the machine it ran on, and the markdown table of bench/results/<size>.md."""

from __future__ import annotations

import os
import platform
import sysconfig
from pathlib import Path

# The target for the mixed load with two gunicorn workers, in pages a second.
TARGET_RPS = 250


def machine(url: str) -> dict[str, str]:
    import psycopg

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "python_build": python_build(sysconfig.get_config_var("CONFIG_ARGS") or ""),
        "postgresql": version,
        "os": platform.platform(),
    }


def python_build(config_args: str) -> str:
    """How the interpreter was compiled, as far as speed goes: profile-guided and link-time optimised (as
    Debian's, the official Docker images' and `make python`'s are) or not (pyenv's default build)."""
    optimised = [
        name
        for flag, name in (("--enable-optimizations", "PGO"), ("--with-lto", "LTO"))
        if flag in config_args
    ]
    return "+".join(optimised) + " build" if optimised else "built without PGO or LTO"


OPTIMISED_BUILD = "PGO+LTO build"  # what `make bench` measures on (`python bench/report.py --optimised`)


def python_build_note(machine_: dict) -> str:
    build = machine_.get("python_build")
    return f" ({build})" if build else ""


def worker_kind(result: dict) -> str:
    threads = result.get("worker_threads", 1)
    return "sync workers" if threads <= 1 else f"gthread workers of {threads} threads"


def report(result: dict) -> str:
    lines = [
        f"# OneDesk benchmark: {result['size']} ({result['data']['requests']:,} requests, "
        f"{result['data']['communities']} communities, {result['data']['residents']:,} residents)",
        "",
        f"Measured {result['date']} on {result['machine']['cores']} cores ({result['machine']['cpu']}), "
        f"PostgreSQL {result['machine']['postgresql']}, Python {result['machine']['python']}"
        f"{python_build_note(result['machine'])}; gunicorn with "
        f"{result['workers']} {worker_kind(result)}, DEBUG off, the load generator ({result['threads']} threads) on the same "
        f"machine. Mixed load for {result['seconds']:.0f} s after a {result['warmup']:.0f} s warm-up.",
        "",
        "| page | n | p50 ms | p95 ms | p99 ms | target p95 | req/s | errors | SQL queries | bytes | alone p50 / p95 ms | baseline p50 ms | × baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page, row in result["pages"].items():
        verdict = "✅" if row["p95_ms"] <= row["target_p95_ms"] else "❌"
        alone = "✅" if row["solo_p95_ms"] <= row["target_p95_ms"] else "❌"
        extra = f" ({row['taken']} taken)" if row.get("taken") else ""
        lines.append(
            f"| {page} | {row['n']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['target_p95_ms']} {verdict} | {row['rps']:.1f} | {row['errors']}{extra} | {row['queries']} | "
            f"{row['bytes']:,} | {row['solo_p50_ms']:.1f} / {row['solo_p95_ms']:.1f} {alone} | "
            f"{row['baseline_p50_ms']:.1f} | {row['ratio_p50']:.1f} |"
        )
    total = result["total"]
    verdict = "✅" if total["rps"] >= TARGET_RPS and total["errors"] == 0 else "❌"
    lines += [
        "",
        f"**All pages: {total['n']:,} in {result['seconds']:.1f} s = {total['rps']:.0f} pages/s "
        f"(target ≥ {TARGET_RPS} {verdict}), {total['errors']} errors.**",
        "",
    ]
    if ceiling := result.get("ceiling"):
        lines += [
            f"Ceiling: the same mix, threads and server sent to the bare baseline view (each call at its page's "
            f"size, no work of OneDesk's own): {ceiling['rps']:.0f} pages/s, p50 {ceiling['p50_ms']:.1f} ms, "
            f"{ceiling['errors']} errors. OneDesk's pages run at {total['rps'] / ceiling['rps']:.0%} of it; "
            f"the target, {TARGET_RPS} pages/s, is {TARGET_RPS / ceiling['rps']:.0%} of it: on this machine it "
            f"needs a page of the mix to cost no more than {ceiling['rps'] / TARGET_RPS:.1f} bare views.",
            "",
        ]
    lines += [
        "p50/p95/p99, req/s and errors: under the mixed load (queueing behind slower pages included). "
        "Alone: the same page, one request at a time, after the mix (its service time), "
        "checked against the same target. "
        "× baseline: the page's mixed-load p50 divided by the p50 of a bare Django view rendering a template of the "
        "same size through the same middleware and server (bench/views.py). Queries per page: counted once "
        'with Django\'s test client (bench/run.py, `count_queries`). "taken": booking attempts whose slot was '
        "already held (409) — the expected answer, not an error.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    # `python bench/report.py --optimised`: exit status 0 when this interpreter is built with PGO and LTO, which
    # `make bench` asks of the venv's Python before it measures (and of .python/'s before it reuses it).
    import sys

    if sys.argv[1:] != ["--optimised"]:
        sys.exit("usage: python bench/report.py --optimised")
    sys.exit(0 if python_build(sysconfig.get_config_var("CONFIG_ARGS") or "") == OPTIMISED_BUILD else 1)
