"""A hostile caller of `nbflow serve` aims file and image inputs at internal addresses.

The server runs on a real socket (uvicorn); the targets are local servers on 127.0.0.1, which the
guard refuses by default like any other internal address, and lets through only when allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any

import httpx
import pytest

from nbflow.exceptions import ConfigError, MediaError
from nbflow.providers.netguard import AllowList, allowing, fetch_url, is_public_address
from nbflow.server import ServeConfig, ServerThread, build_app
from nbflow.store import MemoryStore

from ..deploy.helpers import AUTH, TOKEN, write_flow
from .helpers import PNG, Recorder, closed_port

FILE_FLOW = {
    "nbflow": 1, "name": "fetcher",
    "nodes": [{"id": "doc", "type": "input.file"}, {"id": "out", "type": "output"}],
    "edges": [{"from": "doc.value", "to": "out.value"}],
}

REFUSED = "the address is not allowed, could not be reached, or did not answer with the content"


def _serve(tmp_path: Any, monkeypatch: Any, allow: list[str]) -> ServerThread:
    monkeypatch.setenv("NBFLOW_SERVE_TOKEN", TOKEN)
    config = ServeConfig.parse({"flows": [str(write_flow(tmp_path, FILE_FLOW))], "allow_hosts": allow})
    return ServerThread(build_app(config, store=MemoryStore()))


def _run(c: httpx.Client, url: str) -> dict[str, Any]:
    r = c.post("/flows/fetcher/runs?wait=true", json={"doc": url})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_internal_targets_are_refused_with_one_text_whatever_the_cause(tmp_path, monkeypatch):
    with Recorder(status=200, reply=b"internal secret") as target, _serve(tmp_path, monkeypatch, []) as server, \
            httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
        port = closed_port()
        targets = [
            f"{target.url}/anything",                      # loopback, a port that answers
            f"http://127.0.0.1:{port}/",                   # loopback, a closed port
            f"http://localhost:{target.port}/anything",    # a name that resolves to loopback
            f"http://2130706433:{target.port}/",           # 127.0.0.1 written as one number
            f"http://[::ffff:127.0.0.1]:{target.port}/",   # IPv4-mapped IPv6
            "http://169.254.169.254/latest/meta-data/",    # cloud metadata
            "http://10.0.0.1/", "http://192.168.1.1/", "http://[fe80::1]/", "http://0.0.0.0:80/",
            "http://no-such-host.invalid/",                 # DNS failure
        ]
        errors = set()
        for url in targets:
            out = _run(c, url)
            assert out["status"] == "failed", url
            errors.add(out["error"].replace(url, "URL"))
        assert len(errors) == 1 and REFUSED in errors.pop()  # an open and a closed port look alike
        assert target.requests == []  # nothing reached the internal server


def test_allow_list_lets_the_fixture_through_and_every_redirect_hop_is_checked(tmp_path, monkeypatch):
    with Recorder() as allowed, Recorder(status=200, reply=b"internal secret") as internal:
        with _serve(tmp_path, monkeypatch, [f"127.0.0.1:{allowed.port}"]) as server, \
                httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
            ok = _run(c, f"{allowed.url}/img.png")
            assert ok["status"] == "succeeded" and ok["outputs"]["out"]["mime"] == "image/png"
            # A redirect within the allowed host is followed...
            ok = _run(c, f"{allowed.url}/redirect?to=/img.png")
            assert ok["status"] == "succeeded"
            # ...one to an internal host that is not allowed is not, whatever the redirect code.
            for code in (301, 302, 303, 307, 308):
                url = f"{allowed.url}/redirect?code={code}&to={internal.url}/x"
                out = _run(c, url)
                assert out["status"] == "failed" and REFUSED in out["error"]
                assert internal.url not in out["error"].replace(url, "")  # only the caller's own URL is told back
            assert internal.requests == []


def test_size_cap(tmp_path):
    with Recorder() as target, allowing([f"127.0.0.1:{target.port}"]):
        with pytest.raises(MediaError, match="over the 1,000-byte limit"):
            asyncio.run(fetch_url(f"{target.url}/big", max_bytes=1000))
        got = asyncio.run(fetch_url(f"{target.url}/img.png", max_bytes=1000))
        assert got.data == PNG and got.content_type == "image/png" and got.name == "img.png"


def test_cli_allow_host_flag_and_env(tmp_path, monkeypatch, capsys):
    from nbflow.cli import main

    flow = write_flow(tmp_path, FILE_FLOW)
    with Recorder() as target:
        url = f"{target.url}/img.png"
        assert main(["run", str(flow), "-i", f"doc={url}", "--no-store", "-q"]) == 1
        assert REFUSED in capsys.readouterr().err
        assert main(["run", str(flow), "-i", f"doc={url}", "--no-store", "-q", "--allow-host", "127.0.0.1"]) == 0
        monkeypatch.setenv("NBFLOW_ALLOW_HOSTS", "example.org, 127.0.0.0/8")
        assert main(["run", str(flow), "-i", f"doc={url}", "--no-store", "-q"]) == 0
    assert main(["run", str(flow), "-i", f"doc={url}", "--allow-host", "10.0.0.0/99"]) == 2
    assert "not a network" in capsys.readouterr().err


def test_dns_answer_is_checked_and_the_connection_pinned_to_it():
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding DNS: public first, then loopback

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    got = asyncio.run(fetch_url("https://files.example/a.png", max_bytes=10_000, allow=AllowList(),
                                transport=httpx.MockTransport(app), resolve=rebinding))
    assert got.data == PNG
    (req,) = seen  # one request, to the address that was checked, named by its host and TLS server name
    assert req.url.host == "93.184.216.34" and req.headers["host"] == "files.example"
    assert req.extensions["sni_hostname"] == "files.example"

    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # any internal answer refuses the name

    with pytest.raises(MediaError, match="not allowed"):
        asyncio.run(fetch_url("http://files.example/a.png", max_bytes=10_000, allow=AllowList(),
                              transport=httpx.MockTransport(app), resolve=mixed))
    assert len(seen) == 1


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("100.100.100.200", False), ("168.63.129.16", False),
    ("0.0.0.0", False), ("224.0.0.1", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("fd00:ec2::254", False), ("::ffff:10.0.0.1", False), ("64:ff9b::a00:1", False), ("2002:a00:1::", False),
])
def test_public_addresses(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_allow_list_entries():
    allow = AllowList.parse(["localhost", "files.internal:8080", "[::1]:9000", "10.0.0.0/8"])
    assert allow.allows_host("LOCALHOST", 1) and allow.allows_host("files.internal", 8080)
    assert not allow.allows_host("files.internal", 8081) and allow.allows_host("[::1]", 9000)
    assert allow.allows_ip(ipaddress.ip_address("10.9.9.9")) and not allow.allows_ip(ipaddress.ip_address("11.0.0.1"))
    assert AllowList.parse(["*"]).allows_ip(ipaddress.ip_address("127.0.0.1"))
    for bad in ("host:99999", "10.0.0.0/40", ":80"):
        with pytest.raises(ConfigError):
            AllowList.parse([bad])
    with pytest.raises(ConfigError, match="allow_hosts"):
        ServeConfig.parse({"allow_hosts": ["10.0.0.0/40"]})


def test_an_injected_transport_resolves_no_names_but_still_refuses_internal_addresses():
    from nbflow import Flow
    from nbflow.providers.catalog import Providers

    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    flow = Flow.loads(json.dumps(FILE_FLOW))
    providers = Providers(transport=httpx.MockTransport(app))
    assert flow.run({"doc": "https://files.example/a.png"}, providers=providers, cache=False).ok
    for url in ("http://127.0.0.1/a.png", "http://169.254.169.254/latest", "http://[::1]/x"):
        res = flow.run({"doc": url}, providers=providers, cache=False)
        assert not res.ok and REFUSED in (res.error or "")
