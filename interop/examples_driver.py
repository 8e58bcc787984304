#!/usr/bin/env python3
"""Run the reference's own Python examples (gitpod-sdk==0.11.0) against a server, e.g. the mock.

Usage:
    python examples_driver.py --base-url http://127.0.0.1:PORT --token TOKEN [--max-retries N] CALLS_FILE

CALLS_FILE is JSON: a list of

    {"id": "gitpod.v1.RunnerService/ListRunners",
     "python": "client.runners.list( filter={ \"providers\": [...] }, pagination={ \"page_size\": 20 }, )"}

or, for a method the reference gives no Python example for,

    {"id": ..., "call": "projects.policies.create", "kwargs": {"group_id": "...", ...}}

(the SDK method by its dotted path under `client`, keyword arguments as JSON).

"python" is the documented call as the reference writes it (whitespace may be collapsed; a whole example
block is fine too: the first `client.<path>(...)` call expression is taken from it). It is evaluated with
`client` bound to a Gitpod client pointed at --base-url, and `datetime`, `date`, `timezone`, `os` in scope
(the examples use `datetime.fromisoformat(...)`). A result that is a page (has iter_pages) is iterated over
every page with the SDK's auto-pagination.

One JSON line per call on stdout, in order:
    {"id": ..., "ok": true, "call": <the expression evaluated>, "result": <parsed response>}
    {"id": ..., "ok": true, "call": ..., "result": [<item>, ...], "pages": N}           # a page object
    {"id": ..., "ok": false, "call": ..., "error": {"type": ..., "status": ..., "code": ..., "message": ..., "body": ...}}

The parsed response is serialised as driver.py does it (driver.to_jsonable: what the SDK parsed, by wire
name; datetimes RFC 3339 at microseconds). An error is an SDK error (the server said no), a TypeError from
the SDK method (the example passes a keyword the SDK does not take), or a problem with the example text
(no call found, SyntaxError); "type" says which. Exit status 0 when every line was written, 2 on usage errors.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from datetime import date, datetime, timezone
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gitpod  # noqa: E402
from gitpod import Gitpod  # noqa: E402

from driver import all_pages, error_json, resolve, to_jsonable  # noqa: E402

_CALL_START = re.compile(r"\bclient((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*\(")


def extract_call(text: str) -> str:
    """The first `client.a.b(...)` call expression in `text`, parentheses balanced (strings skipped)."""
    m = _CALL_START.search(text)
    if not m:
        raise ValueError("no `client.<resource>.<method>(...)` call in the example")
    depth = 0
    i = m.end() - 1  # at "("
    quote = None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif c in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else c
            i += len(quote) - 1
        elif c == "#":  # a comment runs to the end of the line
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
            continue
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return text[m.start() : i + 1]
        i += 1
    raise ValueError("unbalanced parentheses in the example call")


def run_one(client: Gitpod, call: dict[str, Any]) -> dict[str, Any]:
    line: dict[str, Any] = {"id": call.get("id")}
    try:
        if call.get("python") is None and call.get("call"):
            # No Python example: the SDK method by its dotted path, keyword arguments as JSON.
            kwargs = call.get("kwargs") or {}
            line["call"] = f"client.{call['call']}(**{json.dumps(kwargs, ensure_ascii=False)})"
            result = resolve(client, call["call"])(**kwargs)
        else:
            expr = extract_call(call.get("python") or "")
            line["call"] = expr
            scope = {"client": client, "datetime": datetime, "date": date, "timezone": timezone, "os": os}
            result = eval(compile(expr, f"<example {call.get('id')}>", "eval"), scope)  # noqa: S307 (our own docs)
        if hasattr(result, "iter_pages"):
            items, pages = all_pages(result)
            line.update(ok=True, result=items, pages=pages)
        else:
            line.update(ok=True, result=to_jsonable(result))
    except gitpod.GitpodError as exc:
        line.update(ok=False, error=error_json(exc))
    except Exception as exc:  # TypeError (kwargs the SDK does not take), SyntaxError, JSONDecodeError, ...
        err = error_json(exc)
        err["traceback"] = traceback.format_exc(limit=3)
        line.update(ok=False, error=err)
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--max-retries", type=int, default=0)
    ap.add_argument("calls")
    args = ap.parse_args(argv)
    try:
        with open(args.calls, encoding="utf-8") as f:
            calls = json.load(f)
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise ValueError("expected a JSON list of objects")
    except (OSError, ValueError) as exc:
        print(f"examples_driver.py: bad calls file {args.calls}: {exc}", file=sys.stderr)
        return 2
    with Gitpod(bearer_token=args.token, base_url=args.base_url, max_retries=args.max_retries, timeout=30) as client:
        for call in calls:
            sys.stdout.write(json.dumps(run_one(client, call), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
