"""Approve or reject a paused run from a link in a notice: ``/approvals/{token}``.

``GET`` only shows what is to be decided and a button (so a chat's link preview, a mail scanner or a
prefetching browser that fetches the link decides nothing); ``POST`` decides. No bearer token is asked:
the signed token (see :mod:`nbflow.ops.links`) is the credential, for one decision of one pause.

A link works once. The decision is written through the store's approval claim
(:meth:`~nbflow.store.RunStore.decide` sets a decision only where there is none, in one statement), so
of two clicks, or of the approve and the reject link, or of two replicas sharing the store, exactly one
decides; then the run resumes here (:meth:`~nbflow.server.manager.RunManager.resume`), which picks the
recorded decision up. The decision is written holding the run's lease, so a resume already under way
cannot pause the node again over it: while another process holds the run, the link answers 503 (try
again; the link is not used up). Every refusal is a page that says why, with a 4xx status: 403 a
changed or foreign link, 404 no such run or approval, 409 used already (or the node paused again
since), 410 expired.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from nbflow.exceptions import NbflowError, StoreError
from nbflow.ops.links import LinkClaim, LinkError
from nbflow.ops.notices import preview
from nbflow.ops.notifier import Delivery, Notifier
from nbflow.resuming import make_decision
from nbflow.server.manager import RunManager
from nbflow.server.metrics import Metrics
from nbflow.store.lease import lease_ttl, owner_id
from nbflow.store.owners import heartbeat
from nbflow.store.runstore import Approval, RunStore

__all__ = ["approval_decide", "approval_page", "approval_routes", "install_notices"]

log = logging.getLogger("nbflow.server")

_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",  # the token must not leak to another site in a Referer header
    "x-robots-tag": "noindex, nofollow",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
}
_STATUS = {"malformed": 403, "tampered": 403, "expired": 410}


class ServerState(Protocol):
    """What these handlers use of :class:`nbflow.server.app.ServerState`."""

    manager: RunManager
    metrics: Metrics
    notifier: Notifier | None
    stoppers: list[Callable[[], Awaitable[Any]]]


def install_notices(state: ServerState, notifier: Notifier) -> None:
    """Send a notice whenever a run of this server pauses for approval, and serve the links."""
    state.notifier = notifier
    metrics, manager = state.metrics, state.manager

    def counted(d: Delivery) -> None:
        metrics.notices.inc(channel=d.channel, outcome="sent" if d.ok else "failed")

    notifier.on_delivery = counted

    def on_pause(run_id: str, nodes: set[str]) -> None:
        async def send() -> None:
            try:
                notices = await asyncio.to_thread(_notices, notifier, manager, run_id, nodes)
            except NbflowError as exc:  # the store is down: the run itself is unaffected
                log.error("approval notices for run %s could not be prepared: %s", run_id, exc)
                return
            for n in notices:
                notifier.send_soon(n)

        notifier.background(send())

    state.manager.on_pause = on_pause

    async def stop() -> None:
        await notifier.drain(5.0)

    state.stoppers.append(stop)


def _notices(notifier: Notifier, manager: RunManager, run_id: str, nodes: set[str]) -> list[Any]:
    """The notices of a paused run of a served flow, routed by the flow's ``defaults.notify``."""
    flow = manager.flows.get(manager.store.summary(run_id).flow)
    route = flow.spec.defaults.notify if flow is not None else None
    return notifier.notices(manager.store, run_id, nodes, once=True, route=route)


def _page(status: int, title: str, message: str, *, form: str = "") -> Response:
    e = html.escape
    body = (f"<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            f"content=\"width=device-width\"><title>{e(title)}</title><style>body{{font-family:sans-serif;"
            f"max-width:40em;margin:3em auto;padding:0 1em}}pre{{white-space:pre-wrap;background:#f4f4f4;"
            f"padding:.5em}}button{{font-size:1.1em;padding:.4em 1.2em}}</style></head><body>"
            f"<h1>{e(title)}</h1>{message}{form}</body></html>")
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _refusal(status: int, title: str, why: str) -> Response:
    return _page(status, title, f"<p>{html.escape(why)}</p>")


def _check(st: ServerState, token: str) -> tuple[LinkClaim, Approval, str] | Response:
    """The link's claim, its approval and flow name, or the page refusing it."""
    notifier: Notifier | None = getattr(st, "notifier", None)
    if notifier is None:
        return _refusal(404, "Not found", "This server does not serve approval links.")
    try:
        claim = notifier.links.verify(token)
    except LinkError as exc:
        st.metrics.approval_links.inc(outcome=exc.reason)
        return _refusal(_STATUS[exc.reason], "This link cannot be used", str(exc))
    store = st.manager.store
    try:
        flow = store.summary(claim.run_id).flow
        found = [a for a in store.approvals(claim.run_id, pending=False) if a.node_id == claim.node_id]
    except StoreError:
        return _refusal(404, "Not found", f"There is no run {claim.run_id} any more.")
    if not found:
        return _refusal(404, "Not found", f"Run {claim.run_id} has no approval at node {claim.node_id!r}.")
    a = found[0]
    if a.decision is not None or abs(a.created_at - claim.since) > 1e-3:
        st.metrics.approval_links.inc(outcome="used")
        done = "approved" if (a.decision or {}).get("approved") else "rejected"
        why = (f"This approval was {done} already; each link works once." if a.decision is not None else
               "This link is for an earlier pause of this node; use the link of the latest notice.")
        return _refusal(409, "This link was used already", why)
    return claim, a, flow


def _summary(claim: LinkClaim, a: Approval, flow: str) -> str:
    e = html.escape
    return (f"<p>Flow <b>{e(flow)}</b>, node <b>{e(claim.node_id)}</b>, run <code>{e(claim.run_id)}</code></p>"
            f"<p>{e(a.reason or 'Approve this?')}</p><pre>{e(preview(a.data.get('value'), 4000))}</pre>")


async def approval_page(request: Request, body: bytes, st: ServerState) -> Response:
    """``GET``: what is to be decided, and a button that POSTs the decision (nothing decided yet)."""
    checked = _check(st, request.path_params["token"])
    if isinstance(checked, Response):
        return checked
    claim, a, flow = checked
    verb = "Approve" if claim.approve else "Reject"
    form = (f"<form method=\"post\"><button type=\"submit\">{verb}</button></form>"
            "<p>Nothing is decided until you press the button.</p>")
    return _page(200, f"{verb} this?", _summary(claim, a, flow), form=form)


async def approval_decide(request: Request, body: bytes, st: ServerState) -> Response:
    """``POST``: decide through the store's approval claim (once), then resume the run."""
    checked = _check(st, request.path_params["token"])
    if isinstance(checked, Response):
        return checked
    claim, a, flow = checked
    decided = _decide(st.manager.store, claim, st.metrics)
    if decided is not None:
        return decided
    st.metrics.approval_links.inc(outcome="approved" if claim.approve else "rejected")
    done = "Approved" if claim.approve else "Rejected"
    try:
        await st.manager.resume(claim.run_id, approve=None)
    except NbflowError as exc:  # e.g. another approval of the run is being resumed right now
        log.warning("run %s: decided through a link, not resumed here: %s", claim.run_id, exc)
        return _page(202, done, _summary(claim, a, flow) + "<p>The decision is recorded; the run goes on "
                     f"when it is next resumed (nbflow resume {html.escape(claim.run_id)}).</p>")
    return _page(200, done, _summary(claim, a, flow) + "<p>The decision is recorded and the run goes on.</p>")


def _decide(store: RunStore, claim: LinkClaim, metrics: Metrics) -> Response | None:
    """Record the link's decision (None), or the page saying why not.

    Done holding the run's lease, and with no await in between: a resume that claimed the run before
    would otherwise read the approval before this decision and, pausing the node again, write it over.
    A resume that claims the run after this reads the decision and applies it.
    """
    owner = owner_id()
    if heartbeat.holds(store, claim.run_id) or store.claim(claim.run_id, owner, ttl=lease_ttl()) is None:
        page = _refusal(503, "The run is busy", "The run is being resumed right now. This link was not "
                        "used: try it again in a moment.")
        page.headers["retry-after"] = "2"
        return page
    decision = make_decision(claim.approve, comment="decided through an approval link", by="approval link")
    try:
        store.decide(claim.run_id, claim.node_id, decision)
    except StoreError:  # another click, link or replica decided first
        metrics.approval_links.inc(outcome="used")
        return _refusal(409, "This link was used already", "This approval was decided already; each link "
                        "works once.")
    finally:
        store.release(claim.run_id, owner)
    return None


def approval_routes() -> list[tuple[str, Any, list[str]]]:
    """(path, handler, methods) of the link routes, for :func:`nbflow.server.app.create_app`."""
    return [("/approvals/{token}", approval_page, ["GET"]), ("/approvals/{token}", approval_decide, ["POST"])]
