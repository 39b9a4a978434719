"""Connection strings lose their secrets in messages (masked) and in what leaves the process (removed);
a worker that receives a URL without its password takes it from its own environment."""

from __future__ import annotations

import pytest

from nbflow.store.pgurl import local_url, safe_url, same_database, without_password

SECRET_URLS = [
    "postgresql://bob:s3cret@db.example:5433/runs",
    "postgresql://bob@db.example:5433/runs?password=s3cret",
    "postgresql://bob@db.example:5433/runs?sslmode=require&password=s3cret&application_name=x",
    "postgres://bob:s3cret@db.example:5433/runs?sslpassword=s3cret&password=s3cret",
    "postgresql://bob@db.example:5433/runs?pass%77ord=s3cret",
    "host=db.example port=5433 dbname=runs user=bob password=s3cret",
    "host=db.example dbname=runs user=bob password = 's3 cret' sslpassword=s3cret",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_no_secret_survives_masking_or_removal(url: str) -> None:
    masked, bare = safe_url(url), without_password(url)
    for text in (masked, bare):
        assert "s3cret" not in text and "s3 cret" not in text and "bob" in text and "db.example" in text
    assert "***" not in bare and same_database(bare, url)


def test_what_is_not_secret_stays_as_written() -> None:
    url = "postgresql://bob@db.example:5433/runs?sslmode=require&password=s3cret&application_name=x"
    assert safe_url(url) == "postgresql://bob@db.example:5433/runs?sslmode=require&password=***&application_name=x"
    assert without_password(url) == "postgresql://bob@db.example:5433/runs?sslmode=require&application_name=x"
    assert without_password("postgresql://bob:pw@h/db?password=pw") == "postgresql://bob@h/db"
    assert safe_url("postgresql://bob@h/db?PASSWORD=s3cret") == "postgresql://bob@h/db?PASSWORD=***"  # erring safe
    plain = "postgresql://nbflow@127.0.0.1:5432/t1"
    assert safe_url(plain) == plain and without_password(plain) == plain


def test_a_worker_uses_its_own_store_url_only_for_the_same_database_and_user(monkeypatch) -> None:
    sent = "postgresql://bob@db.example:5433/runs"
    monkeypatch.setenv("NBFLOW_STORE", "postgresql://bob:s3cret@db.example:5433/runs")
    assert local_url(sent) == "postgresql://bob:s3cret@db.example:5433/runs"
    for other in ("postgresql://eve:s3cret@db.example:5433/runs", "postgresql://bob:s3cret@db.example:5432/runs",
                  "postgresql://bob:s3cret@db.example:5433/other", "postgresql://bob:s3cret@elsewhere:5433/runs",
                  "runs.db"):
        monkeypatch.setenv("NBFLOW_STORE", other)
        assert local_url(sent) == sent  # libpq then reads PGPASSWORD or .pgpass
    monkeypatch.delenv("NBFLOW_STORE")
    assert local_url(sent) == sent
