#!/usr/bin/env python3
"""Drive the official Python SDK (gitpod-sdk==0.11.0) against a server, for interop tests.

Usage:
    python driver.py --base-url http://127.0.0.1:PORT --token TOKEN [--max-retries N] [--timeout S] SCENARIO_FILE

SCENARIO_FILE is JSON: a list of calls

    {"id": "c1", "call": "runners.policies.create", "kwargs": {...},
     "paginate": false, "expect_error": false,
     "options": {"max_retries": 2, "timeout": 5.0}}        # "options" is optional (client.with_options)

"kwargs" are passed as Python keyword arguments to the SDK method, as they are (nested dicts for
nested params, ISO strings for timestamps). Two markers build Python values the SDK formats itself:
    {"$datetime": "2025-01-02T03:04:05.123456+00:00"} -> datetime (the SDK sends .isoformat())
    {"$bytes_io": "<base64>"}                           -> io.BytesIO (the SDK base64-encodes it)

One JSON line per call on stdout, in scenario order:
    {"id": ..., "ok": true, "result": <parsed response>, "as_expected": bool}
    {"id": ..., "ok": true, "result": [<item>, ...], "pages": N, "as_expected": bool}   # paginate=true
    {"id": ..., "ok": false, "error": {"type": ..., "status": ..., "code": ..., "message": ..., "body": ...},
     "as_expected": bool}

The result is what the SDK parsed (the attribute values of its models), keyed by the wire's camelCase
names, only the fields that were present in the response (like exclude_unset; an explicit null stays
null), plus fields unknown to the SDK as received. Datetimes come out as pydantic's JSON mode writes
them: RFC 3339, UTC as "Z", 0 or 6 fractional digits (the SDK truncates nanoseconds to microseconds).
Values the SDK could not parse (an unknown enum string, an int64 sent as a string, a bad timestamp)
stay as received. Responses typed `object` by the SDK (deletes, updates) are the decoded JSON.

Exit status: 0 when every call ran (including calls that got API errors); 2 for usage/scenario
errors; 3 when a call raised something other than an SDK error (a driver or scenario bug, e.g. an
unknown call path or keyword; that line has "error.traceback"). A 2xx body that is not JSON is not
a driver bug: the SDK lets json.JSONDecodeError escape unwrapped, reported as an ok=false line with
type "JSONDecodeError".
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import sys
import traceback
from datetime import date, datetime
from typing import Any

import gitpod
import pydantic
from gitpod import Gitpod

MAX_PAGES = 1000  # guard against a server that never ends a listing


_DATETIME = pydantic.TypeAdapter(datetime)
_DATE = pydantic.TypeAdapter(date)


def dump_model(m: pydantic.BaseModel) -> dict[str, Any]:
    """What the SDK parsed, keyed by the wire (alias) names, only fields present in the response.

    Not model_dump()/to_dict(): the SDK's BaseModel.construct() (gitpod/_models.py, construct) also
    stores every aliased key (e.g. "createdAt") as an *extra* holding the raw, unparsed JSON value,
    and model_dump(by_alias=True) lets that raw extra overwrite the parsed field. So to_dict() would
    echo the server's bytes instead of showing what the SDK parsed. Here: parsed fields first (by
    alias), then only the extras that are not aliases of declared fields (truly unknown fields).
    """
    fields = type(m).model_fields
    wire_names = {f.alias or name for name, f in fields.items()}
    out: dict[str, Any] = {}
    for name, f in fields.items():
        if name in m.model_fields_set:
            out[f.alias or name] = to_jsonable(getattr(m, name))
    for key, value in (m.__pydantic_extra__ or {}).items():
        if key not in wire_names and key not in fields:
            out[key] = to_jsonable(value)
    return out


def to_jsonable(value: Any) -> Any:
    """Serialise what the SDK returned, as the wire spells it (datetimes as pydantic's RFC 3339)."""
    if isinstance(value, pydantic.BaseModel):
        return dump_model(value)
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _DATETIME.dump_python(value, mode="json")
    if isinstance(value, date):
        return _DATE.dump_python(value, mode="json")
    return value


def decode_markers(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"].replace("Z", "+00:00"))
        if len(value) == 1 and "$bytes_io" in value:
            return io.BytesIO(base64.b64decode(value["$bytes_io"]))
        return {k: decode_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_markers(v) for v in value]
    return value


def resolve(client: Gitpod, dotted: str) -> Any:
    target: Any = client
    for part in dotted.split("."):
        if part.startswith("_"):
            raise AttributeError(f"private attribute in call path: {dotted}")
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{dotted} is not callable")
    return target


def error_json(exc: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(exc).__name__}
    out["status"] = getattr(exc, "status_code", None)
    out["code"] = getattr(exc, "code", None)
    out["message"] = getattr(exc, "message", str(exc))
    body = getattr(exc, "body", None)
    try:
        json.dumps(body)
    except (TypeError, ValueError):
        body = repr(body)
    out["body"] = body
    return out


def all_pages(first: Any) -> tuple[list[Any], int]:
    """Every item over every page of an SDK page object (its auto-pagination), and the page count."""
    items: list[Any] = []
    pages = 0
    for page in first.iter_pages():
        pages += 1
        if pages > MAX_PAGES:
            raise RuntimeError(f"more than {MAX_PAGES} pages; server keeps returning nextToken")
        items.extend(to_jsonable(item) for item in page._get_page_items())
    return items, pages


def run_call(client: Gitpod, call: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Returns (line, driver_bug)."""
    cid = call.get("id")
    expect_error = bool(call.get("expect_error", False))
    line: dict[str, Any] = {"id": cid}
    try:
        c = client.with_options(**call["options"]) if call.get("options") else client
        method = resolve(c, call["call"])
        kwargs = decode_markers(call.get("kwargs") or {})
        if call.get("paginate"):
            items, pages = all_pages(method(**kwargs))
            line.update(ok=True, result=items, pages=pages)
        else:
            line.update(ok=True, result=to_jsonable(method(**kwargs)))
        line["as_expected"] = not expect_error
        return line, False
    except gitpod.GitpodError as exc:  # APIStatusError, APIConnectionError, APITimeoutError, ...
        line.update(ok=False, error=error_json(exc), as_expected=expect_error)
        return line, False
    except json.JSONDecodeError as exc:  # the server's 2xx body is not JSON: the SDK does not wrap this
        line.update(ok=False, error=error_json(exc), as_expected=expect_error)
        return line, False
    except Exception as exc:  # anything else is a bug in the driver or the scenario
        err = error_json(exc)
        err["traceback"] = traceback.format_exc()
        line.update(ok=False, error=err, as_expected=False)
        return line, True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--max-retries", type=int, default=0, help="SDK max_retries (default 0; the SDK's own default is 2)")
    ap.add_argument("--timeout", type=float, default=None, help="SDK timeout in seconds (default: SDK default, 60)")
    ap.add_argument("scenario")
    args = ap.parse_args(argv)

    try:
        with open(args.scenario, encoding="utf-8") as f:
            calls = json.load(f)
        if not isinstance(calls, list) or not all(isinstance(c, dict) and "call" in c for c in calls):
            raise ValueError("scenario must be a JSON list of objects with a 'call' key")
    except (OSError, ValueError) as exc:
        print(f"driver.py: bad scenario {args.scenario}: {exc}", file=sys.stderr)
        return 2

    client_kwargs: dict[str, Any] = {
        "bearer_token": args.token,
        "base_url": args.base_url,
        "max_retries": args.max_retries,
    }
    if args.timeout is not None:
        client_kwargs["timeout"] = args.timeout

    bug = False
    with Gitpod(**client_kwargs) as client:
        for call in calls:
            line, is_bug = run_call(client, call)
            bug = bug or is_bug
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    return 3 if bug else 0


if __name__ == "__main__":
    sys.exit(main())
