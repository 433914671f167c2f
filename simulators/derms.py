"""The DERMS / head end (Oracle Utilities Grid Edge DERMS stand-in), mounted at ``/derms``.

Product-facing contract (see ``programs/adapters/derms.py``):

- ``POST /derms/v1/customer-asset-sync``: registers / de-registers the devices of an
  enroll / unenroll / replace message and answers with the acknowledgement (message level
  plus each device's head-end registration status). Same ``Idempotency-Key`` (or
  ``message_id``) -> the same answer.
- ``POST /derms/v1/events/{event_id}/opt-outs``: the device leaves the event; 409 once the
  event has started.
- ``PUT|DELETE /derms/v1/devices/{serial}/unavailability/{window_id}``.
- ``GET /derms/v1/events?updated_since=``: events and reservations (the product polls this).

Test rules, so tests can steer the answers:

- a serial number starting with ``ERR`` gets head-end status ``Error`` (partial ack);
- a message whose entity group or any serial starts with ``NACK`` gets a negative ack;
- ``POST /derms/_control/ack-format`` ``{"format": "deprecated"}`` answers in the older
  format (no per-device status); ``"current"`` restores it;
- ``POST /derms/_control/events`` ``{"program", "starts_at", "ends_at"[, "event_id"]}``
  announces an event and reserves every registered device of that program that is not
  unavailable in the window;
- ``GET /derms/_control/devices`` shows what the head end holds; ``GET /derms/_control/log``
  every message received; ``GET /derms/_stats`` counts syncs received, replayed and
  carried out.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.faults import BOARD

_counter = itertools.count(1)
STATE: dict = {}


def reset() -> None:
    STATE.clear()
    STATE.update(
        devices={},  # serial -> {program, status, network_address, entity_group, ...}
        unavailability={},  # serial -> {window_id: (starts_at, ends_at)}
        events={},  # event_id -> {...}
        acks={},  # idempotency key -> answer
        log=[],
        ack_format="current",
        sync_calls=0,  # customer-asset-sync messages received (valid or not)
        sync_replays=0,  # answered from the idempotency store: nothing done again
        syncs_applied=0,  # messages whose devices the head end (de)registered
    )


reset()


def _now() -> datetime:
    return datetime.now(UTC)


def _stored(value: str) -> datetime:
    """A time the simulator stored itself (always valid ISO 8601 with zone)."""
    return datetime.fromisoformat(value)


def _dt(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


async def _json_body(request: Request) -> dict | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _unauthorized(request: Request) -> Response | None:
    if not request.headers.get("authorization", "").startswith("Bearer "):
        return JSONResponse({"error": "missing bearer token"}, status_code=401)
    return None


async def customer_asset_sync(request: Request) -> Response:
    if (denied := _unauthorized(request)) is not None:
        return denied
    body = await _json_body(request)
    if body is None:
        return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
    STATE["sync_calls"] += 1
    key = request.headers.get("idempotency-key") or str(body.get("message_id") or "")
    if key and key in STATE["acks"]:
        STATE["sync_replays"] += 1
        return JSONResponse(STATE["acks"][key])
    action = body.get("action")
    devices = body.get("devices")
    if action not in ("enroll", "unenroll", "replace") or not isinstance(devices, list):
        return JSONResponse({"error": "action and devices are required"}, status_code=400)
    STATE["log"].append(body)
    message_id = str(body.get("message_id") or f"msg-{next(_counter)}")
    nack = any(
        str(d.get("serial_number", "")).upper().startswith("NACK")
        or str(d.get("entity_group", "")).upper().startswith("NACK")
        for d in devices
        if isinstance(d, dict)
    )
    if nack:
        answer: dict = {
            "message_id": message_id,
            "ack": "negative",
            "reason": "Entity group or device rejected by the DERMS (unknown to the head end).",
        }
        if STATE["ack_format"] == "current":
            answer["devices"] = [
                {
                    "serial_number": d.get("serial_number"),
                    "head_end_status": "Error",
                    "message": "message rejected",
                }
                for d in devices
                if isinstance(d, dict)
            ]
    else:
        results = []
        for d in devices:
            if not isinstance(d, dict) or not d.get("serial_number"):
                return JSONResponse({"error": "each device needs serial_number"}, status_code=400)
            serial = str(d["serial_number"])
            if serial.upper().startswith("ERR"):
                results.append(
                    {
                        "serial_number": serial,
                        "head_end_status": "Error",
                        "message": "Head end could not reach the device.",
                    }
                )
                continue
            if d.get("action") == "deregister":
                STATE["devices"].setdefault(serial, {})["status"] = "De-registered"
                results.append({"serial_number": serial, "head_end_status": "De-registered"})
            else:
                STATE["devices"][serial] = {
                    "status": "Registered",
                    "program": body.get("program"),
                    "network_address": d.get("network_address"),
                    "entity_group": d.get("entity_group"),
                    "head_end": body.get("head_end"),
                }
                results.append({"serial_number": serial, "head_end_status": "Registered"})
        answer = {"message_id": message_id, "ack": "positive"}
        if STATE["ack_format"] == "current":
            answer["devices"] = results
    if key:
        STATE["acks"][key] = answer
    STATE["syncs_applied"] += 1
    return JSONResponse(answer)


async def opt_out(request: Request) -> Response:
    if (denied := _unauthorized(request)) is not None:
        return denied
    event = STATE["events"].get(request.path_params["event_id"])
    if event is None:
        return JSONResponse({"error": "unknown event"}, status_code=404)
    body = await _json_body(request) or {}
    serial = str(body.get("serial_number") or "")
    reservation = event["reservations"].get(serial)
    if reservation is None:
        return JSONResponse({"error": "device is not reserved for this event"}, status_code=404)
    if _stored(event["starts_at"]) <= _now() and reservation != "opted_out":
        return JSONResponse({"error": "the event has already started"}, status_code=409)
    event["reservations"][serial] = "opted_out"
    event["updated_at"] = _now().isoformat()
    STATE["log"].append({"opt_out": event["event_id"], "serial_number": serial})
    return JSONResponse(
        {"event_id": event["event_id"], "serial_number": serial, "status": "opted_out"}
    )


async def unavailability(request: Request) -> Response:
    if (denied := _unauthorized(request)) is not None:
        return denied
    serial = request.path_params["serial"]
    window_id = request.path_params["window_id"]
    windows = STATE["unavailability"].setdefault(serial, {})
    if request.method == "DELETE":
        if windows.pop(window_id, None) is None:
            return JSONResponse({"error": "unknown window"}, status_code=404)
        return Response(status_code=204)
    body = await _json_body(request) or {}
    starts, ends = _dt(body.get("starts_at")), _dt(body.get("ends_at"))
    if starts is None or ends is None or ends <= starts:
        return JSONResponse({"error": "starts_at < ends_at, ISO 8601 with zone"}, status_code=400)
    windows[window_id] = (starts.isoformat(), ends.isoformat())
    STATE["log"].append({"unavailability": serial, "window_id": window_id})
    return JSONResponse(
        {
            "serial_number": serial,
            "window_id": window_id,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        }
    )


def _event_out(event: dict) -> dict:
    return {
        "event_id": event["event_id"],
        "program": event["program"],
        "starts_at": event["starts_at"],
        "ends_at": event["ends_at"],
        "status": event["status"],
        "updated_at": event["updated_at"],
        "reservations": [
            {"serial_number": s, "status": st} for s, st in sorted(event["reservations"].items())
        ],
    }


async def events_list(request: Request) -> Response:
    if (denied := _unauthorized(request)) is not None:
        return denied
    since = _dt(request.query_params.get("updated_since"))
    events = [
        _event_out(e)
        for e in STATE["events"].values()
        if since is None or _stored(e["updated_at"]) >= since
    ]
    return JSONResponse({"events": events})


# --- control endpoints (tests and the demo) ------------------------------------------------
async def control_ack_format(request: Request) -> Response:
    body = await _json_body(request) or {}
    if body.get("format") not in ("current", "deprecated"):
        return JSONResponse({"error": "format is current or deprecated"}, status_code=400)
    STATE["ack_format"] = body["format"]
    return JSONResponse({"format": STATE["ack_format"]})


async def control_events(request: Request) -> Response:
    body = await _json_body(request) or {}
    starts, ends = _dt(body.get("starts_at")), _dt(body.get("ends_at"))
    if not body.get("program") or starts is None or ends is None or ends <= starts:
        return JSONResponse({"error": "program, starts_at < ends_at required"}, status_code=400)
    event_id = str(body.get("event_id") or f"EV-{next(_counter):05d}")
    reservations = {}
    for serial, device in STATE["devices"].items():
        if device.get("program") != body["program"] or device.get("status") != "Registered":
            continue
        busy = any(
            _stored(w_start) < ends and starts < _stored(w_end)
            for w_start, w_end in STATE["unavailability"].get(serial, {}).values()
        )
        if not busy:
            reservations[serial] = "reserved"
    STATE["events"][event_id] = {
        "event_id": event_id,
        "program": body["program"],
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        "status": "scheduled",
        "updated_at": _now().isoformat(),
        "reservations": reservations,
    }
    return JSONResponse(_event_out(STATE["events"][event_id]), status_code=201)


async def control_devices(request: Request) -> Response:
    return JSONResponse(
        {
            "devices": STATE["devices"],
            "unavailability": {
                s: {w: list(v) for w, v in ws.items()} for s, ws in STATE["unavailability"].items()
            },
        }
    )


async def stats(request: Request) -> Response:
    """``GET /derms/_stats``: what the head end carried out, apart from calls received."""
    return JSONResponse(
        {
            "sync_calls": STATE["sync_calls"],
            "sync_replays": STATE["sync_replays"],
            "carried_out": {"device_syncs_applied": STATE["syncs_applied"]},
            "faults": BOARD.counts("derms"),
        }
    )


async def control_log(request: Request) -> Response:
    return JSONResponse({"log": STATE["log"]})


routes = [
    Route("/v1/customer-asset-sync", customer_asset_sync, methods=["POST"]),
    Route("/v1/events", events_list, methods=["GET"]),
    Route("/v1/events/{event_id}/opt-outs", opt_out, methods=["POST"]),
    Route(
        "/v1/devices/{serial}/unavailability/{window_id}",
        unavailability,
        methods=["PUT", "DELETE"],
    ),
    Route("/_control/ack-format", control_ack_format, methods=["POST"]),
    Route("/_control/events", control_events, methods=["POST"]),
    Route("/_control/devices", control_devices, methods=["GET"]),
    Route("/_control/log", control_log, methods=["GET"]),
    Route("/_stats", stats, methods=["GET"]),
]
