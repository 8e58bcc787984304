#!/usr/bin/env python3
"""Read a server stream with the official Python SDK (gitpod-sdk==0.11.0): `client.events.watch()`.

Usage:
    python stream_driver.py --base-url http://127.0.0.1:PORT --token TOKEN [--timeout S] [KWARGS_JSON]

KWARGS_JSON (default `{}`) are the keyword arguments of `events.watch` (environment_id,
organization, resource_type_filters). The SDK sends `POST /gitpod.v1.EventService/WatchEvents` with
`Accept: application/jsonl` and reads the body with its `JSONLDecoder`: one JSON line is one
`EventWatchResponse` (built unchecked: fields it does not know, such as the `error` of an error
line, stay as extra attributes).

One JSON line per received item on stdout, as it arrives:
    {"item": {...what the SDK parsed, camelCase keys, unset fields left out...}, "t": <monotonic s>}
then exactly one of
    {"end": true, "count": N}
    {"exception": {"type": ..., "status": ..., "body": ...}, "count": N}
Exit status 0 in both cases; 3 when something other than an SDK error escaped.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

import gitpod


def dump(model) -> dict:
    out = model.to_dict(use_api_names=True, exclude_unset=True, mode="json")
    # Extra fields (e.g. the `error` of an error line) are kept by construct() as extras.
    for key, value in (model.model_extra or {}).items():
        out.setdefault(key, value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("kwargs", nargs="?", default="{}")
    args = parser.parse_args()
    client = gitpod.Gitpod(bearer_token=args.token, base_url=args.base_url, max_retries=0, timeout=args.timeout)
    count = 0
    try:
        stream = client.events.watch(**json.loads(args.kwargs))
        for event in stream:
            count += 1
            print(json.dumps({"item": dump(event), "t": time.monotonic()}), flush=True)
        print(json.dumps({"end": True, "count": count}), flush=True)
    except gitpod.APIStatusError as e:
        error = {"type": type(e).__name__, "status": e.status_code, "body": e.body}
        print(json.dumps({"exception": error, "count": count}), flush=True)
    except Exception:  # noqa: BLE001 - reported, not hidden
        print(json.dumps({"exception": {"type": "driver", "traceback": traceback.format_exc()}, "count": count}))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
