"""What only the PostgreSQL store has: a URL, a versioned schema migrated once by concurrent openers,
and guarantees that hold across processes because the database enforces them (each store below has its
own connection, as each server replica would)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from nbflow.cli import main
from nbflow.exceptions import StoreError
from nbflow.model.record import RunResult
from nbflow.store import RunStore, open_store
from nbflow.store import postgres as pg_mod
from nbflow.store.postgres import SCHEMA_VERSION, PostgresStore, is_postgres_url

ROOT = Path(__file__).resolve().parents[2]


def _replicas(url: str, n: int) -> list[RunStore]:
    return [open_store(url) for _ in range(n)]


def _race(stores: list[RunStore], fn: Any) -> list[Any]:
    """Call ``fn(store)`` on every store at once (one thread each); the results in store order."""
    barrier = threading.Barrier(len(stores))
    out: list[Any] = [None] * len(stores)

    def go(i: int) -> None:
        barrier.wait()
        out[i] = fn(stores[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_urls_open_a_postgres_store(pg_url: str, monkeypatch: pytest.MonkeyPatch):
    assert is_postgres_url(pg_url) and is_postgres_url("postgres://x/y") and not is_postgres_url("runs.db")
    with open_store(pg_url) as s:
        assert isinstance(s, PostgresStore) and s.schema_version == SCHEMA_VERSION
        assert "nbflow@" in repr(s)
    monkeypatch.setenv("NBFLOW_STORE", pg_url)
    with open_store() as s:
        assert isinstance(s, PostgresStore)


def test_a_password_never_shows_in_errors():
    with pytest.raises(StoreError) as info:
        open_store("postgresql://bob:s3cret@127.0.0.1:1/nope")
    assert "s3cret" not in str(info.value) and "bob@127.0.0.1:1/nope" in str(info.value)
    for url in ("postgresql://bob@127.0.0.1:1/nope?password=s3cret",
                "postgresql://bob@127.0.0.1:1/nope?sslmode=disable&sslpassword=s3cret"):
        with pytest.raises(StoreError) as info:
            open_store(url)
        assert "s3cret" not in str(info.value) and "password=***" in str(info.value)


def test_a_password_query_parameter_never_shows_in_repr(pg_url: str):
    with open_store(pg_url + "?password=s3cret&application_name=nbflow-test") as s:
        assert "s3cret" not in repr(s) and "password=***" in repr(s) and "application_name" in repr(s)


def test_replicas_opening_together_migrate_once(pg_url: str):
    stores = []
    try:
        stores = _race([None] * 6, lambda _: open_store(pg_url))  # type: ignore[list-item]
        assert all(s.schema_version == SCHEMA_VERSION for s in stores)
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT version FROM nbflow_schema").fetchall() == [(SCHEMA_VERSION,)]
    finally:
        for s in stores:
            s.close()


def test_older_schema_is_migrated_in_place_and_newer_is_refused(pg_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pg_mod, "SCHEMA_VERSION", 1)
    with PostgresStore(pg_url) as s:
        assert s.schema_version == 1
        s.save(RunResult(run_id="kept", flow="f", status="succeeded", outputs={"x": 1}))
        with pytest.raises(StoreError):
            s.claim("kept", "me", ttl=5)  # no leases table yet
    monkeypatch.undo()
    with PostgresStore(pg_url) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert s.get("kept").outputs == {"x": 1}
        assert s.claim("kept", "me", ttl=5) is not None
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE nbflow_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer than this nbflow"):
        PostgresStore(pg_url)


def test_one_claim_wins_across_connections(pg_url: str):
    stores = _replicas(pg_url, 6)
    try:
        for round_ in range(5):
            got = _race(stores, lambda s, r=round_: s.claim(f"run{r}", f"replica-{id(s)}", ttl=30))
            assert sum(g is not None for g in got) == 1
    finally:
        for s in stores:
            s.close()


def test_a_replayed_key_is_refused_across_connections(pg_url: str):
    stores = _replicas(pg_url, 6)
    try:
        for round_ in range(5):
            got = _race(stores, lambda s, r=round_: s.remember(f"sig{r}", ttl=60))
            assert got.count(True) == 1
    finally:
        for s in stores:
            s.close()


def test_one_decision_wins_across_connections(pg_url: str):
    from nbflow.store import Approval

    stores = _replicas(pg_url, 6)
    try:
        stores[0].save(RunResult(run_id="r", flow="f", status="paused"))
        stores[0].add_approval(Approval(run_id="r", node_id="check", reason="ok?"))

        def decide(s: RunStore) -> bool:
            try:
                s.decide("r", "check", {"approved": True, "by": str(id(s))})
                return True
            except StoreError:
                return False

        assert _race(stores, decide).count(True) == 1
    finally:
        for s in stores:
            s.close()


def test_constraints_hold_even_for_writers_that_bypass_nbflow(pg_url: str):
    with open_store(pg_url) as s:
        s.save(RunResult(run_id="r", flow="f", status="succeeded"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO runs (id, flow, status, started_at) VALUES ('r', 'f', 'running', 0)")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO approvals (run_id, node_id, created_at, decision) "
                         "VALUES ('r', 'n', 0, '{}')")  # a decision without its time
        conn.execute("INSERT INTO seen_keys (key, expires_at) VALUES ('k', 1e12)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO seen_keys (key, expires_at) VALUES ('k', 1e12)")


def test_every_store_command_takes_store_url(pg_url: str, capsys: pytest.CaptureFixture[str]):
    flow = str(ROOT / "examples" / "product_copy.json")
    assert main(["run", flow, "--input", "product=a wool scarf", "--store", pg_url, "--json"]) == 0
    capsys.readouterr()
    with open_store(pg_url) as s:
        runs = s.list_runs()
    assert len(runs) == 1 and runs[0].status == "succeeded" and runs[0].source == "cli"
    assert main(["runs", "--store", pg_url]) == 0
    assert runs[0].id in capsys.readouterr().out
    assert main(["runs", "show", runs[0].id, "--store", pg_url]) == 0
    assert "product-copy" in capsys.readouterr().out
    assert main(["stats", "--store", pg_url]) == 0
    assert runs[0].flow in capsys.readouterr().out


def test_a_bad_store_url_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]):
    code = main(["runs", "--store", "postgresql://nbflow@127.0.0.1:1/none"])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "cannot open run store" in err


def _image(n: int) -> Any:
    from nbflow.model.values import Media

    return Media(mime="image/png", data=b"\x89PNG\r\n\x1a\n" + bytes([n]) * 64)


def test_blobs_collected_while_another_replica_records_a_run_are_kept(pg_url: str):
    """Replica A records a run whose output is a blob that replica B's garbage collection sees
    unreferenced at that very moment (the last run using it was just deleted): A's run keeps it."""
    gc = PostgresStore(pg_url)
    image = _image(1)

    class Recorder(PostgresStore):
        def _save(self, run_id: str, run: dict[str, Any], nodes: Any, refs: set[str]) -> None:
            if refs and "old" in gc:  # between encoding the record (the bytes are hashed) and writing it
                assert gc.delete("old") and gc._blob_shas() == []
            super()._save(run_id, run, nodes, refs)

    writer = Recorder(pg_url)
    gc.save(RunResult(run_id="old", flow="f", status="succeeded", outputs={"img": image}))
    assert gc._blob_shas() == [image.sha256]
    writer.record_start(RunResult(run_id="new", flow="f", inputs={"img": image}))  # one write
    assert gc.get("new").inputs["img"].data == image.data
    assert gc.gc_blobs() == 0 and gc._blob_shas() == [image.sha256]  # referenced: never collected
    writer.close()
    gc.close()


def test_concurrent_recording_and_collection_lose_no_blob(pg_url: str):
    """One replica records runs reusing a few images while another deletes old runs and collects
    blobs, at once: every run still recorded loads with its media."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    stop = threading.Event()
    errors: list[BaseException] = []

    def collect() -> None:
        while not stop.is_set():
            try:
                b.prune(keep_last=2)
                b.gc_blobs()
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
                return

    t = threading.Thread(target=collect)
    t.start()
    try:
        for i in range(100):
            a.save(RunResult(run_id=f"r{i}", flow="f", status="succeeded", outputs={"img": _image(i % 3)}))
            assert a.get(f"r{i}").outputs["img"].data == _image(i % 3).data
    finally:
        stop.set()
        t.join()
    assert errors == []
    for s in a.list_runs(limit=None):
        assert a.get(s.id).outputs["img"].data  # every blob still referenced is there
    a.close()
    b.close()
