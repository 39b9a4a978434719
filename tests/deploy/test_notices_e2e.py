"""Approval notices end to end: a real `nbflow serve` process pauses a run, a local HTTP receiver and a
real SMTP server (aiosmtpd) get the notices, the links are followed (GET shows, POST decides), the runs
resume and finish; a used, expired, tampered or foreign link is refused with a page and a 4xx. Also
`nbflow run --notify`: a paused CLI run is decided through the server that shares its store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbflow.cli import main
from nbflow.ops.links import ApprovalLinks
from nbflow.server import ServeConfig, ServerThread, build_app
from nbflow.store import SQLiteStore

from .helpers import APPROVE, AUTH, TOKEN, Receiver, write_flow
from .mailsink import MailSink, free_port
from .test_orphans import _stop, _wait

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

LINK_SECRET = "lk-7f3a9c2e51d84b6f0a-5c1e9b2d7a3f8e04"
SMTP_PASSWORD = "pw-Q8zV3kT1mN6"
HOOK_PATH = "/hook"  # the receiver's URL is the webhook secret


def _notices(port: int, smtp_port: int) -> dict[str, Any]:
    return {"base_url": f"http://127.0.0.1:{port}", "link_ttl": "1h",
            "webhook": {"url_env": "NOTICE_HOOK"},
            "email": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "username": "nbflow",
                      "password_env": "SMTP_PASSWORD", "from": "nbflow@example.com",
                      "to": ["reviewers@example.com"]},
            "attempts": 3, "backoff": 0.2}


def _env(tmp_path: Path, hook: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(NBFLOW_HOME=str(tmp_path / "home"), NBFLOW_SERVE_TOKEN=TOKEN, NBFLOW_LINK_SECRET=LINK_SECRET,
               NOTICE_HOOK=hook, SMTP_PASSWORD=SMTP_PASSWORD, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return env


def _links_in_mail(msg: Any) -> dict[str, str]:
    text = msg.get_body(("plain",)).get_content()
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^(Approve|Reject): (\S+)", text, re.M)}


def _paused_run(c: httpx.Client, url: str, draft: str) -> str:
    r = c.post(f"{url}/flows/review/runs?wait=true", json={"draft": draft}, headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "paused", r.text
    return str(r.json()["run_id"])


def test_notices_links_and_refusals_against_a_real_server(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, APPROVE)
    port = free_port()
    with Receiver() as receiver, MailSink(user="nbflow", password=SMTP_PASSWORD) as sink:
        cfg = {"flows": [str(flow)], "port": port, "store": str(tmp_path / "runs.db"),
               "allow_hosts": ["127.0.0.1"], "notices": _notices(port, sink.port)}
        (tmp_path / "serve.json").write_text(json.dumps(cfg))
        log = (tmp_path / "serve.log").open("w")  # a file, not a pipe: info logs would fill a pipe
        proc = subprocess.Popen([sys.executable, "-m", "nbflow", "serve", "--config", str(tmp_path / "serve.json"),
                                 "--log-level", "info"], env=_env(tmp_path, receiver.url),
                                stdout=log, stderr=log, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=30) as c:
                _wait(lambda: _up(c, url), proc=proc)
                _approve_by_webhook_link(c, url, receiver)
                _reject_by_mail_link(c, url, sink)
                _refusals(c, url, receiver, tmp_path / "runs.db")
                sent = 'nbflow_notices_total{channel="email",outcome="sent"} 3'
                _wait(lambda: sent in c.get(f"{url}/metrics", headers=AUTH).text)  # counted after QUIT
                metrics = c.get(f"{url}/metrics", headers=AUTH).text
        finally:
            _stop(proc)
            log.close()
    err = (tmp_path / "serve.log").read_text()
    assert 'nbflow_notices_total{channel="webhook",outcome="sent"} 3' in metrics
    assert 'nbflow_notices_total{channel="email",outcome="sent"} 3' in metrics
    decided = re.findall(r'nbflow_approval_links_total\{outcome="(?:approved|rejected)"\} (\d+)', metrics)
    assert sum(map(int, decided)) == 3  # one decision per run, whichever link of the race won
    assert 'nbflow_approval_links_total{outcome="tampered"} 2' in metrics  # changed, and foreign
    assert 'nbflow_approval_links_total{outcome="expired"} 1' in metrics
    # The server's log names neither the webhook URL nor any secret.
    for secret in (receiver.url, LINK_SECRET, SMTP_PASSWORD):
        assert secret not in err
    assert "approval notice for run" in err and "Logging error" not in err  # access log lines intact
    # The access log shows that links were used, never their one-time tokens.
    assert '"GET /approvals/[token] HTTP/1.1" 200' in err and '"POST /approvals/[token] HTTP/1.1"' in err
    assert re.search(r"/approvals/(?!\[token\]|{token})", err) is None


def _up(c: httpx.Client, url: str) -> bool:
    try:
        return c.get(f"{url}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _approve_by_webhook_link(c: httpx.Client, url: str, receiver: Receiver) -> None:
    rid = _paused_run(c, url, "first draft")
    _wait(lambda: any(n["nbflow"]["run_id"] == rid for n in receiver.received))
    notice = next(n for n in receiver.received if n["nbflow"]["run_id"] == rid)
    assert notice["nbflow"]["flow"] == "review" and notice["nbflow"]["node_id"] == "check"
    assert "Publish this?" in json.dumps(notice["blocks"]) and "first draft" in json.dumps(notice["blocks"])
    approve = notice["blocks"][-1]["elements"][0]["url"]
    reject = notice["nbflow"]["reject_url"]
    assert approve.startswith(f"{url}/approvals/") and approve == notice["nbflow"]["approve_url"]
    # GET (a link preview, a mail scanner) only shows the page: nothing is decided.
    page = c.get(approve)
    assert page.status_code == 200 and "<form method=\"post\">" in page.text and "first draft" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert c.get(f"{url}/runs/{rid}", headers=AUTH).json()["status"] == "paused"
    # Approve and reject pressed at once: the store's approval claim lets exactly one decide.
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda u: c.post(u), [approve, reject]))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    approved = answers[0].status_code == 200
    done = c.get(f"{url}/runs/{rid}?wait=true", headers=AUTH)
    _wait(lambda: c.get(f"{url}/runs/{rid}", headers=AUTH).json()["status"] == "succeeded")
    out = c.get(f"{url}/runs/{rid}", headers=AUTH).json()
    assert done.status_code == 200
    if approved:
        assert out["outputs"]["published"] == "first draft"
    else:
        assert "published" not in out["outputs"]
    # Used: a second press of either link is refused, on GET and POST alike.
    for link in (approve, reject):
        for method in ("GET", "POST"):
            again = c.request(method, link)
            assert again.status_code == 409 and "used already" in again.text, (method, again.text)


def _reject_by_mail_link(c: httpx.Client, url: str, sink: MailSink) -> None:
    rid = _paused_run(c, url, "second draft")
    _wait(lambda: any(rid in m.get_body(("plain",)).get_content() for m in sink.messages))
    msg = next(m for m in sink.messages if rid in m.get_body(("plain",)).get_content())
    assert msg["Subject"] == "Approval needed: flow 'review', node 'check'" and sink.logins
    links = _links_in_mail(msg)
    assert set(links) == {"approve", "reject"}
    assert c.get(links["reject"]).status_code == 200
    decided = c.post(links["reject"])
    assert decided.status_code == 200 and "Rejected" in decided.text
    _wait(lambda: c.get(f"{url}/runs/{rid}", headers=AUTH).json()["status"] == "succeeded")
    out = c.get(f"{url}/runs/{rid}", headers=AUTH).json()
    assert "published" not in out["outputs"] and out["nodes"]["check"]["status"] == "done"
    assert c.post(links["approve"]).status_code == 409


def _refusals(c: httpx.Client, url: str, receiver: Receiver, db: Path) -> None:
    rid = _paused_run(c, url, "third draft")
    _wait(lambda: any(n["nbflow"]["run_id"] == rid for n in receiver.received))
    notice = next(n for n in receiver.received if n["nbflow"]["run_id"] == rid)
    approve = notice["nbflow"]["approve_url"]
    token = approve.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    # Tampered: the reject payload with the approve MAC.
    reject_payload = notice["nbflow"]["reject_url"].rsplit("/", 1)[1].split(".")[0]
    tampered = c.post(f"{url}/approvals/{reject_payload}.{mac}")
    assert tampered.status_code == 403 and "not valid" in tampered.text
    # Foreign: signed with another secret.
    since = float(json.loads(__import__("base64").urlsafe_b64decode(payload + "==="))["since"])
    foreign = ApprovalLinks("not-the-server-secret-0123456789abcdef", url).token(rid, "check", "approve", since=since)
    assert c.post(f"{url}/approvals/{foreign}").status_code == 403
    # Expired: genuinely signed, but its time has passed.
    old = ApprovalLinks(LINK_SECRET, url, ttl=60, clock=lambda: time.time() - 3600)
    expired = c.post(f"{url}/approvals/{old.token(rid, 'check', 'approve', since=since)}")
    assert expired.status_code == 410 and "expired" in expired.text
    assert c.get(f"{url}/approvals/garbage").status_code == 403
    # While another process holds the run (resuming it), the link is not used up: 503, try again.
    with SQLiteStore(db) as other:
        assert other.claim(rid, "another-replica", ttl=30) is not None
        busy = c.post(approve)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2" and "not used" in busy.text
        assert other.release(rid, "another-replica")
    # None of that decided anything; the genuine link still works.
    assert c.get(f"{url}/runs/{rid}", headers=AUTH).json()["status"] == "paused"
    assert c.post(approve).status_code == 200
    _wait(lambda: c.get(f"{url}/runs/{rid}", headers=AUTH).json()["status"] == "succeeded")


def test_cli_run_notify_then_decided_through_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    flow = write_flow(tmp_path, APPROVE)
    db = tmp_path / "runs.db"
    port = free_port()
    with Receiver() as receiver:
        monkeypatch.setenv("NBFLOW_SERVE_TOKEN", TOKEN)
        monkeypatch.setenv("NBFLOW_LINK_SECRET", LINK_SECRET)
        monkeypatch.setenv("NOTICE_HOOK", receiver.url)
        monkeypatch.setenv("NBFLOW_STORE", str(db))
        notices = {"base_url": f"http://127.0.0.1:{port}", "webhook": {"url_env": "NOTICE_HOOK"}}
        cfg_file = tmp_path / "serve.json"
        cfg_file.write_text(json.dumps({"flows": [str(flow)], "allow_hosts": ["127.0.0.1"], "notices": notices}))
        assert main(["run", str(flow), "-i", "draft=from the cli", "--notify", str(cfg_file), "-q"]) == 3
        [notice] = receiver.received
        assert notice["nbflow"]["flow"] == "review" and "from the cli" in notice["text"]
        store = SQLiteStore(db)
        app = build_app(ServeConfig.load(cfg_file), store=store)
        with ServerThread(app, port=port) as server, httpx.Client(timeout=30) as c:
            assert c.post(notice["nbflow"]["approve_url"]).status_code == 200
            rid = notice["nbflow"]["run_id"]
            _wait(lambda: store.summary(rid).status == "succeeded")
            assert store.get(rid).outputs["published"] == "from the cli"
            assert server.url == notice["nbflow"]["approve_url"][: len(server.url)]
        store.close()
    assert "approval notice" not in capsys.readouterr().err  # delivered: no warning printed


def test_schedule_notify_sends_the_notice_of_a_paused_scheduled_run(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {**APPROVE, "nodes": [{"id": "draft", "type": "input.text", "params": {"default": "nightly"}},
                                 *APPROVE["nodes"][1:]]}
    flow = write_flow(tmp_path, spec)
    with Receiver() as receiver:
        monkeypatch.setenv("NBFLOW_LINK_SECRET", LINK_SECRET)
        monkeypatch.setenv("NOTICE_HOOK", receiver.url)
        monkeypatch.setenv("NBFLOW_STORE", str(tmp_path / "runs.db"))
        monkeypatch.setenv("NBFLOW_ALLOW_HOSTS", "127.0.0.1")  # the receiver is on loopback
        cfg = tmp_path / "notices.json"  # a bare notices object works as well as a serve configuration
        cfg.write_text(json.dumps({"base_url": "https://nbflow.example.com", "webhook": {"url_env": "NOTICE_HOOK"}}))
        assert main(["schedule", str(flow), "--cron", "* * * * * *", "--max-runs", "1", "--notify", str(cfg),
                     "-q"]) == 0
        [notice] = receiver.received
    assert notice["nbflow"]["flow"] == "review" and "nightly" in notice["text"]
    assert notice["nbflow"]["approve_url"].startswith("https://nbflow.example.com/approvals/")


def test_two_replicas_on_postgres_decide_a_link_once(tmp_path: Path, pg_url: str) -> None:
    """A run paused on one replica is told about once; its approve link pressed at one replica and its
    reject link at the other, at the same moment: exactly one decides, and the run finishes."""
    from .test_replicas import _serve

    flow = write_flow(tmp_path, APPROVE)
    with Receiver() as receiver:
        cfg = tmp_path / "serve.json"
        cfg.write_text(json.dumps({"allow_hosts": ["127.0.0.1"], "notices": {
            "base_url": "http://lb.invalid", "webhook": {"url_env": "NOTICE_HOOK"}}}))
        env = {**_env(tmp_path, receiver.url), "NBFLOW_STORE": pg_url}
        a, url_a = _serve([flow], env, "--config", str(cfg))
        b, url_b = _serve([flow], env, "--config", str(cfg))
        try:
            with httpx.Client(timeout=30) as c:
                rid = _paused_run(c, url_a, "replicated draft")
                _wait(lambda: len(receiver.received) == 1)
                notice = receiver.received[0]["nbflow"]
                approve = notice["approve_url"].replace("http://lb.invalid", url_a)
                reject = notice["reject_url"].replace("http://lb.invalid", url_b)
                with ThreadPoolExecutor(2) as pool:
                    answers = list(pool.map(lambda u: c.post(u), [approve, reject]))
                codes = [r.status_code for r in answers]
                assert codes.count(200) == 1 and set(codes) <= {200, 409, 503}, [r.text for r in answers]
                _wait(lambda: c.get(f"{url_b}/runs/{rid}", headers=AUTH).json()["status"] == "succeeded")
                out = c.get(f"{url_a}/runs/{rid}", headers=AUTH).json()
                assert ("published" in out["outputs"]) == (codes[0] == 200)
                for link in (approve, reject):  # used up, at either replica
                    assert c.post(link).status_code == 409
                time.sleep(0.5)
                assert len(receiver.received) == 1  # neither the resume nor the other replica told it again
        finally:
            _stop(a)
            _stop(b)


def test_cli_resume_notify_tells_about_the_next_approval_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    two = {"nbflow": 1, "name": "two-step",
           "nodes": [{"id": "draft", "type": "input.text"},
                     {"id": "legal", "type": "approval", "params": {"prompt": "Legal OK?"}},
                     {"id": "brand", "type": "approval", "params": {"prompt": "Brand OK?"}},
                     {"id": "out", "type": "output"}],
           "edges": [{"from": "draft.value", "to": "legal.value"}, {"from": "legal.approved", "to": "brand.value"},
                     {"from": "brand.approved", "to": "out.value"}]}
    flow = write_flow(tmp_path, two)
    with Receiver() as receiver:
        monkeypatch.setenv("NBFLOW_LINK_SECRET", LINK_SECRET)
        monkeypatch.setenv("NOTICE_HOOK", receiver.url)
        monkeypatch.setenv("NBFLOW_STORE", str(tmp_path / "runs.db"))
        monkeypatch.setenv("NBFLOW_ALLOW_HOSTS", "127.0.0.1")
        cfg = tmp_path / "notices.json"
        cfg.write_text(json.dumps({"base_url": "https://nbflow.example.com", "webhook": {"url_env": "NOTICE_HOOK"}}))
        assert main(["run", str(flow), "-i", "draft=copy", "--notify", str(cfg), "-q"]) == 3
        rid = receiver.received[0]["nbflow"]["run_id"]
        assert main(["resume", rid, "--approve", "--notify", str(cfg), "-q"]) == 3
        assert [n["nbflow"]["node_id"] for n in receiver.received] == ["legal", "brand"]
        assert "Brand OK?" in receiver.received[1]["text"]
        # Deciding "brand" finishes the run: nothing more to tell.
        assert main(["resume", rid, "--approve", "--notify", str(cfg), "-q"]) == 0
        assert len(receiver.received) == 2


def test_serve_refuses_a_short_link_secret_at_start(tmp_path: Path) -> None:
    """A link-signing key under 32 bytes: `nbflow serve` (and --check) exits 2 with one line naming the
    setting and the secret, before listening, and never shows the key."""
    flow = write_flow(tmp_path, APPROVE)
    port = free_port()
    cfg = tmp_path / "serve.json"
    cfg.write_text(json.dumps({"flows": [str(flow)], "port": port, "store": str(tmp_path / "runs.db"),
                               "notices": {"base_url": f"http://127.0.0.1:{port}", "webhook": {"url_env": "NOTICE_HOOK"}}}))
    env = _env(tmp_path, "http://127.0.0.1:9/hook")
    short = "x" * 31
    for extra in (["--check"], []):
        env["NBFLOW_LINK_SECRET"] = short
        done = subprocess.run([sys.executable, "-m", "nbflow", "serve", "--config", str(cfg), *extra], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr and short not in done.stderr
        assert "notices.link_secret_env: secret NBFLOW_LINK_SECRET is 31 bytes" in done.stderr
        assert "at least 32" in done.stderr
    env["NBFLOW_LINK_SECRET"] = "x" * 32
    ok = subprocess.run([sys.executable, "-m", "nbflow", "serve", "--config", str(cfg), "--check"], env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
