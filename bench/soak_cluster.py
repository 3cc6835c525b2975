"""The throw-away PostgreSQL cluster of `make soak` (bench/soak.py), and the gunicorn workers it kills.

The soak restarts its database, so it never uses the shared server on 5432: it runs `initdb` into a
temporary directory and starts a postmaster of its own on 127.0.0.1."""

from __future__ import annotations

import os
import pwd
import secrets
import socket
import subprocess
from pathlib import Path

from load import HOST  # bench/ is on sys.path, as for run.py

PG_BIN = os.environ.get("PG_BIN", "")  # default: the newest /usr/lib/postgresql/<version>/bin


class Cluster:
    """A PostgreSQL cluster in a temporary directory, owned by `postgres` when we run as root (initdb
    refuses root), listening on 127.0.0.1 only, with a random superuser password."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = port
        self.password = secrets.token_hex(16)
        self.as_postgres = os.geteuid() == 0
        self.started = False

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(pg_bin() / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        # The server that pg_ctl starts writes to the -l log: had it inherited our pipes, run() would wait for it.
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120)
        if check and done.returncode:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )
        return done

    def _ctl(self, action: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", *args, action, check=check)

    def init(self) -> None:
        user = pwd.getpwnam("postgres") if self.as_postgres else None
        if user:
            os.chown(self.root, user.pw_uid, user.pw_gid)
        secret = self.root / "pwfile"
        secret.write_text(self.password + "\n")
        secret.chmod(0o600)
        if user:
            os.chown(secret, user.pw_uid, user.pw_gid)
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
                 f"--pwfile={secret}", "--no-locale", "-E", "UTF8", "--no-sync")  # fmt: skip
        secret.unlink()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c max_connections=40"
        self._ctl("start", "-o", options)
        self.started = True

    def restart(self) -> None:
        """A fast restart: every session is cut, open transactions roll back (pg_ctl keeps the options)."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if self.started and self._ctl("stop", "-m", "fast", check=False).returncode:
            self._ctl("stop", "-m", "immediate", check=False)
        self.started = False

    def url(self, user: str, password: str, database: str) -> str:
        return f"postgres://{user}:{password}@{HOST}:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        password = secrets.token_hex(16)
        with psycopg.connect(self.url("postgres", self.password, "postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE onedesk LOGIN PASSWORD '{password}'")
            conn.execute("CREATE DATABASE onedesk_soak OWNER onedesk")
        return self.url("onedesk", password, "onedesk_soak")


def pg_bin() -> Path:
    if PG_BIN:
        return Path(PG_BIN)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL binds: TIME_WAIT is free
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def worker_pids(master: int) -> list[int]:
    try:
        text = Path(f"/proc/{master}/task/{master}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split()]
