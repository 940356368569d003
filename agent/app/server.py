"""The App's HTTP face: ``POST /webhook`` and ``GET /healthz`` (FastAPI).

The route only verifies and filters: the signature over the raw body first (401 without a
valid one), then the headers and JSON (400), the event read by ``webhooks.decide``, an
installation not served refused (403), a redelivered ``X-GitHub-Delivery`` or a signed event
already acted on (a captured delivery replayed under a new id) dropped (200); a run is queued
(202) for the worker and the answer goes out at once. Nothing here calls GitHub. Unhandled
events: 204.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from perfagent.agent.app.config import AppConfig
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.webhooks import PayloadError, decide, verify_signature

logger = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
_DELIVERY = re.compile(r"[A-Za-z0-9-]{1,100}")
_EVENT = re.compile(r"[a-z0-9_]{1,64}")


def create_app(
    config: AppConfig, queue: JobQueue, *, on_enqueue: Callable[[], None] | None = None
) -> FastAPI:
    """The ASGI app; ``on_enqueue`` is called after a job is queued (wakes the workers)."""
    app = FastAPI(title="perfagent", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        return {"ok": True, "queued": len(queue.jobs("queued"))}

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            return _answer(413 if declared.isdigit() else 400, "bad Content-Length")
        body = await _read_capped(request)
        if body is None:
            return _answer(413, "payload too large")
        if not verify_signature(config.secret, body, request.headers.get("x-hub-signature-256")):
            return _answer(401, "bad or missing X-Hub-Signature-256")
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if not _EVENT.fullmatch(event) or not _DELIVERY.fullmatch(delivery):
            return _answer(400, "missing or malformed X-GitHub-Event / X-GitHub-Delivery")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return _answer(400, "body is not JSON")
        if not isinstance(payload, dict):
            return _answer(400, "body is not a JSON object")
        try:
            decision = decide(
                event,
                payload,
                default_model=config.default_model,
                allowed_models=config.allowed_models,
            )
        except PayloadError as exc:
            return _answer(400, str(exc))
        inst = decision.installation_id
        if inst is not None and not config.installation_allowed(inst):
            return _answer(403, f"installation {inst} is not served here")
        # Record the delivery only once it is known good: a malformed one may be fixed and
        # redelivered; a good one is acted on once, whatever delivery id it comes under.
        seen = queue.first_delivery(delivery, event, decision.event_id)
        if seen == "redelivery":
            return _answer(200, "duplicate delivery")
        if seen == "replay":
            logger.warning("delivery %s replays event %s: dropped", delivery, decision.event_id)
            return _answer(200, "event already handled")
        if decision.kind == "pong":
            return _answer(200, "pong")
        if decision.kind == "installation" and inst is not None:
            if decision.job["action"] in ("deleted", "suspend"):
                queue.remove_installation(inst)
            else:
                queue.record_installation(inst, str(decision.job["account"]))
            return _answer(202, f"installation {decision.job['action']}")
        if decision.kind in ("optimize", "refuse") and inst is not None:
            job, created = queue.enqueue(decision.kind, decision.key, decision.job)
            if created and on_enqueue is not None:
                on_enqueue()
            logger.info("delivery %s: job %d (%s, new=%s)", delivery, job.id, job.kind, created)
            return _answer(202, "queued" if created else "already queued", job=job.id)
        return Response(status_code=204)

    return app


async def _read_capped(request: Request) -> bytes | None:
    """The raw body, or ``None`` past ``MAX_BODY`` (a chunked body declares no length)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status)
