"""fal's queue API: any model by id (``fal-ai/flux/dev``, ``fal-ai/kling-video/...``), submit then poll.

Wire format (fal Queue API v1): ``Authorization: Key <FAL_KEY>``. ``POST {base}/{model_id}`` with the
model's input as the JSON body answers ``{"request_id", "status_url", "response_url", "cancel_url",
"queue_position"}``. ``GET {base}/{owner}/{app}/requests/{id}/status`` answers ``{"status":
"IN_QUEUE" | "IN_PROGRESS" | "COMPLETED", "queue_position", "error"?}``; once ``COMPLETED``,
``GET {base}/{owner}/{app}/requests/{id}`` is the model's output (``{"images": [{"url", ...}]}``,
``{"video": {"url"}}``...) or an error status with ``{"detail"}``. A model id's sub-path (``/dev``)
is used to submit only, not for status and result. The status and result URLs the server returns are
used when they are on the base URL's origin (so the key goes nowhere else); output files live on
fal's CDN and are fetched without the key.
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

__all__ = ["FalProvider", "app_of"]

_MODEL_ID = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?$")


def app_of(model: str) -> str:
    """``owner/app`` of a model id (``fal-ai/flux/dev`` -> ``fal-ai/flux``), for status and result paths."""
    if not _MODEL_ID.match(model) or ".." in model:
        raise ProviderError(f"model {model!r} is not a fal model id (owner/app or owner/app/path)", provider="fal")
    owner, app = model.split("/")[:2]
    return f"{owner}/{app}"


class FalProvider(MarketplaceProvider):
    """fal.ai's model APIs through the queue."""

    name = "fal"
    default_base_url = "https://queue.fal.run"

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Key {self._key.reveal()}"} if self._key else {}

    def _own(self, url: Any, fallback: str) -> str:
        return url if isinstance(url, str) and same_origin(url, self.base_url) else fallback

    async def run_model(self, model: str, inputs: dict[str, Any], *, timeout: float,
                        on_progress: OnProgress | None = None) -> tuple[Any, dict[str, Any]]:
        app = app_of(model)
        urls: dict[str, tuple[str, str]] = {}

        async def submit() -> str:
            data = await self.send_json("POST", "/" + quote(model, safe="/"), json=inputs)
            if not isinstance(data, dict) or not data.get("request_id"):
                raise ProviderError("the submit response has no request_id", provider=self.name, retryable=True)
            rid = str(data["request_id"])
            base = f"/{app}/requests/{quote(rid, safe='')}"
            urls[rid] = (self._own(data.get("status_url"), f"{base}/status"),
                         self._own(data.get("response_url"), base))
            return rid

        async def poll(rid: str) -> JobState:
            data = await self.send_json("GET", urls[rid][0])
            status = str(data.get("status", "")) if isinstance(data, dict) else ""
            if status == "COMPLETED":
                if data.get("error"):
                    return JobState(True, error=str(data["error"]))
                return JobState(True, result=rid)
            if status not in ("IN_QUEUE", "IN_PROGRESS"):
                return JobState(True, error=f"unknown queue status {status!r}", retryable=True)
            pos = data.get("queue_position")
            return JobState(False, status=f"in queue (position {pos})" if status == "IN_QUEUE" and pos is not None
                            else status.lower().replace("_", " "))

        rid = await submit_and_poll(self.name, submit, poll, interval=self.poll_interval, max_interval=10.0,
                                    timeout=timeout, on_progress=on_progress)
        output = await self.send_json("GET", urls[rid][1])
        return output, {"request_id": rid}
