"""A throwaway PostgreSQL server for tests and benches: initdb in a temporary folder, on a free port.

    with PgServer.start() as pg:              # raises PgUnavailable when no PostgreSQL is installed
        url = pg.create_database("t1")        # postgresql://nbflow@127.0.0.1:PORT/t1

It uses the server binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/*/bin``) or
``initdb`` on ``PATH``. PostgreSQL refuses to run as root, so as root the data folder is given to
the ``postgres`` user (or ``nobody``) and the binaries run as that user. Trust authentication,
listening only on 127.0.0.1; ``PgServer.start(password=...)`` requires that password over TCP
instead (``scram-sha-256``), and :meth:`PgServer.url` leaves it out.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["PgServer", "PgUnavailable", "find_bin_dir"]


class PgUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``, newest version first, or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return Path(d)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One running PostgreSQL server; :meth:`stop` (or ``with``) stops it and removes its data."""

    def __init__(self, bin_dir: Path, root: Path, port: int, proc: subprocess.Popen[bytes], prefix: list[str],
                 password: str | None = None):
        self.bin_dir, self.root, self.port, self.proc, self._prefix = bin_dir, root, port, proc, prefix
        self.password = password

    @classmethod
    def start(cls, *, timeout: float = 60.0, password: str | None = None) -> PgServer:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PgUnavailable("no PostgreSQL server installed (Debian: apt-get install postgresql)")
        root = Path(tempfile.mkdtemp(prefix="nbflow-pg-"))
        prefix: list[str] = []
        if os.geteuid() == 0:
            user = _unprivileged_user()
            pw = pwd.getpwnam(user)
            os.chmod(root, 0o700)
            os.chown(root, pw.pw_uid, pw.pw_gid)
            prefix = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups"]
        data = root / "data"
        auth = ["--auth=trust"]
        if password is not None:
            (root / "pw").write_text(password + "\n")
            if prefix:
                os.chown(root / "pw", pw.pw_uid, pw.pw_gid)
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={root / 'pw'}"]
        init = subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "nbflow", *auth,
                               "-E", "UTF8", "--no-sync"], capture_output=True, cwd=root)
        if init.returncode:
            shutil.rmtree(root, ignore_errors=True)
            raise PgUnavailable(f"initdb failed: {init.stderr.decode(errors='replace').strip()[-500:]}")
        port = _free_port()
        log = open(root / "server.log", "wb")  # noqa: SIM115 - kept open for the server's life
        proc = subprocess.Popen([*prefix, str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1",
                                 "-p", str(port), "-k", str(root), "-c", "fsync=off",
                                 "-c", "max_connections=300", "-c", "shared_buffers=32MB"],
                                stdout=log, stderr=subprocess.STDOUT, cwd=root)
        server = cls(bin_dir, root, port, proc, prefix, password)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                text = (root / "server.log").read_text(errors="replace")[-500:]
                server.stop()
                raise PgUnavailable(f"postgres exited: {text}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if server._ready():
                    return server
            time.sleep(0.1)
        server.stop()
        raise PgUnavailable("postgres did not start in time")

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self._admin("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def url(self, database: str) -> str:
        """The database's URL, without the password (if the server has one)."""
        return f"postgresql://nbflow@127.0.0.1:{self.port}/{database}"

    def _admin(self, database: str) -> str:
        if self.password is None:
            return self.url(database)
        return f"postgresql://nbflow:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self._admin("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self._admin("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # smart shutdown is slow with clients; fast is SIGINT
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise PgUnavailable("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
