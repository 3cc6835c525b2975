"""Walk every page a user can reach by links, in-process, and list the slowest and the heaviest.

    .venv/bin/python bench/crawl.py                      # the bench's three users, up to 400 pages each
    .venv/bin/python bench/crawl.py --user g001_head --pages 100 --top 15

`make bench` measures a fixed mix of nine pages; this finds the others that a district's data makes slow
or heavy (a <select> of every resident, a list PostgreSQL sorts in full). Django's test client in this
process, against DATABASE_URL (default: the district database), with the production settings of
bench/page_profile.py. GET only, following the links of each HTML page (at most two URLs of each shape,
e.g. /requests/N/), never logout, admin, static or media. Each page is timed once, cold: a page that is
slow here is worth a second look (bench/page_profile.py --explain profiles the bench pages).

It also lists the Latin-script words in the visible text of these pages, which are served in Chinese: most
are strings nobody translated (Django 6.1's "- Select an option -" was one).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from page_profile import setup_django  # noqa: E402

HREF = re.compile(rb'href="([^"#]+)"')
# Visible text of a page: what is left without scripts, styles, tags and entities.
INVISIBLE = re.compile(r"<(script|style|template)\b.*?</\1>|<!--.*?-->", re.S)
TAG = re.compile(r"<[^>]+>|&[#\w]+;")
LATIN_WORD = re.compile(r"\b[A-Za-z][A-Za-z'’-]{2,}\b")
# Latin words a Chinese page may show: names of things, formats, the language switcher's "English".
LATIN_OK = {
    "OneDesk",
    "English",
    "CSV",
    "Excel",
    "XLSX",
    "xlsx",
    "csv",
    "PDF",
    "iCal",
    "ics",
    "ICS",
    "PIPL",
    "App",
}
SKIP = ("/accounts/logout", "/admin", "/static", "/media", "/i18n")
USERS = ("g001_head", "g001_sg01", "gs01_staff")  # the bench's head, social worker and subdistrict staff


def latin_words(body: bytes) -> set[str]:
    """Latin-script words in the visible text: on a Chinese page, most are strings nobody translated."""
    text = TAG.sub(" ", INVISIBLE.sub(" ", body.decode("utf-8", "replace")))
    return {word for word in LATIN_WORD.findall(text) if word not in LATIN_OK}


def crawl(client, *, pages: int) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows, seen, queue, shapes = [], set(), ["/"], {}
    while queue and len(seen) < pages:
        path = queue.pop(0)
        shape = re.sub(r"\d+", "N", urlparse(path).path) + ("?…" if "?" in path else "")
        if path in seen or shapes.get(shape, 0) >= 2:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        seen.add(path)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            ms = (time.perf_counter() - started) * 1000
        body = b"" if response.streaming else response.content
        rows.append(
            {
                "path": path,
                "status": response.status_code,
                "ms": ms,
                "queries": len(queries.captured_queries),
                "bytes": len(body),
                "options": body.count(b"<option"),
                "latin": latin_words(body) if "text/html" in response.get("Content-Type", "") else set(),
            }
        )
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        for href in HREF.findall(body):
            url = urlparse(urljoin("http://testserver" + path, href.decode().replace("&amp;", "&")))
            if url.netloc not in ("", "testserver") or url.path.startswith(SKIP):
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if target not in seen:
                queue.append(target)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--user", action="append", help="username (repeatable); default: the bench's three")
    parser.add_argument("--pages", type=int, default=400, help="at most this many pages per user")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    setup_django("crawl")
    logging.disable(logging.WARNING)  # the 403s of pages a user may not open are expected; 500s still show
    from django.contrib.auth.models import User
    from django.test import Client

    everything = []
    for username in args.user or USERS:
        client = Client()
        client.force_login(User.objects.get(username=username))
        rows = crawl(client, pages=args.pages)
        print(f"{username}: {len(rows)} pages")
        everything += [{**row, "user": username} for row in rows]

    def show(title: str, key) -> None:
        print(f"\n{title}")
        print(f"{'ms':>8} {'queries':>7} {'kB':>6} {'<option>':>8}  status user         page")
        for row in sorted(everything, key=key)[: args.top]:
            print(
                f"{row['ms']:8.1f} {row['queries']:7} {row['bytes'] / 1000:6.0f} {row['options']:8}  "
                f"{row['status']:6} {row['user']:12} {row['path'][:90]}"
            )

    show("Slowest", lambda r: -r["ms"])
    show("Most queries", lambda r: -r["queries"])
    show("Largest", lambda r: -r["bytes"])
    words: dict[str, list[str]] = {}
    for row in everything:
        for word in row["latin"]:
            words.setdefault(word, []).append(row["path"])
    print(f"\nLatin words in the visible text of the Chinese pages: {len(words)}")
    for word, paths in sorted(words.items(), key=lambda item: -len(item[1]))[: args.top * 3]:
        print(f"  {word!r:28} on {len(paths):4} pages, e.g. {paths[0][:80]}")
    errors = [row for row in everything if row["status"] >= 500]
    print(f"\nServer errors: {len(errors)}")
    for row in errors:
        print(f"  {row['status']} {row['user']} {row['path']}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
