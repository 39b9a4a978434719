"""Replicate predictions: any model by ``owner/name`` or ``owner/name:version``, with ``Prefer: wait``.

Wire format (Replicate HTTP API v1): ``Authorization: Bearer <token>``. An official model runs with
``POST /v1/models/{owner}/{name}/predictions`` and ``{"input": {...}}``; a pinned version with
``POST /v1/predictions`` and ``{"version": "<id>", "input": {...}}``. The ``Prefer: wait`` header asks
the server to hold the request (up to 60 s) until the prediction finishes: a fast model answers in
that one request, a slow one comes back ``starting``/``processing`` and is polled at
``GET /v1/predictions/{id}`` (``urls.get``). Status: ``starting``, ``processing``, ``succeeded``
(``output``), ``failed`` (``error``), ``canceled``, ``aborted``. Output files are URLs on a delivery
host (fetched without the key, and kept: they expire after an hour) or data URIs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from nbflow.exceptions import ProviderError
from nbflow.providers.fetch import same_origin
from nbflow.providers.marketplace import MarketplaceProvider
from nbflow.providers.polling import JobState, submit_and_poll
from nbflow.providers.provider import OnProgress

__all__ = ["ReplicateProvider", "prediction_route"]

_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
_MODEL = re.compile(r"^[\w.-]+/[\w.-]+$")


def prediction_route(model: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(path, body) that create a prediction of ``model`` (``owner/name[:version]`` or a version id)."""
    name, _, version = model.partition(":")
    if version:
        if not _MODEL.match(name):
            raise ProviderError(f"model {model!r} is not owner/name:version", provider="replicate")
        return "/v1/predictions", {"version": version, "input": inputs}
    if _VERSION_ID.match(name):
        return "/v1/predictions", {"version": name, "input": inputs}
    if not _MODEL.match(name):
        raise ProviderError(f"model {model!r} is not owner/name, owner/name:version or a version id",
                            provider="replicate")
    owner, model_name = name.split("/")
    return f"/v1/models/{quote(owner, safe='')}/{quote(model_name, safe='')}/predictions", {"input": inputs}


class ReplicateProvider(MarketplaceProvider):
    """Replicate: thousands of community and official models through one predictions API."""

    name = "replicate"
    default_base_url = "https://api.replicate.com"
    #: Seconds the server may hold the create request (``Prefer: wait=N``; Replicate allows 1-60).
    wait = 60

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key.reveal()}"} if self._key else {}

    def _state(self, pred: Any) -> JobState:
        if not isinstance(pred, dict):
            return JobState(True, error="the prediction is not a JSON object", retryable=True)
        status = str(pred.get("status", ""))
        if status == "succeeded":
            return JobState(True, result=pred)
        if status in ("failed", "canceled", "aborted"):
            why = pred.get("error") or status
            return JobState(True, error=str(why), retryable=status == "aborted")
        return JobState(False, status=status or "starting")

    async def run_model(self, model: str, inputs: dict[str, Any], *, timeout: float,
                        on_progress: OnProgress | None = None) -> tuple[Any, dict[str, Any]]:
        path, body = prediction_route(model, inputs)
        seen: dict[str, Any] = {}
        links: dict[str, dict[str, Any]] = {}

        async def submit() -> str:
            wait = max(1, min(self.wait, int(self.timeout) - 5))  # the held request must end before our timeout
            pred = await self.send_json("POST", path, json=body, headers={"prefer": f"wait={wait}"})
            if not isinstance(pred, dict) or not pred.get("id"):
                raise ProviderError("the response has no prediction id", provider=self.name, retryable=True)
            seen[str(pred["id"])] = pred
            return str(pred["id"])

        async def poll(pid: str) -> JobState:
            pred = seen.pop(pid, None)  # the create answer itself, when Prefer: wait already finished it
            if pred is None:
                get = ((links.get(pid) or {}).get("get") or "")
                url = get if get and same_origin(get, self.base_url) else f"/v1/predictions/{quote(pid, safe='')}"
                pred = await self.send_json("GET", url)
            if isinstance(pred, dict) and isinstance(pred.get("urls"), dict):
                links[pid] = pred["urls"]
            return self._state(pred)

        pred = await submit_and_poll(self.name, submit, poll, interval=self.poll_interval, max_interval=10.0,
                                     timeout=timeout, on_progress=on_progress)
        facts: dict[str, Any] = {"prediction": pred.get("id")}
        metrics = pred.get("metrics") or {}
        if isinstance(metrics.get("predict_time"), (int, float)):
            facts["predict_time"] = metrics["predict_time"]
        return pred.get("output"), facts
