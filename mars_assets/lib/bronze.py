"""Bronze conventions: verbatim bodies beside their ``.meta.json`` provenance, retries, pools."""

from __future__ import annotations

import json

import dagster as dg

from mars_assets.sources.http import ApiResponse

#: The pool of every asset that calls NASA/JPL (one op at a time, by the shipped dagster.yaml).
API_POOL = "nasa_api"
#: Answers of a retired or unreachable v1 API (connection failure, 404, 410): reference data
#: is then kept as last fetched instead of failing the run (the v1 API closed in Oct 2025).
RETIRED = (0, 404, 410)
RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def response_objects(name: str, resp: ApiResponse, **provenance: str) -> dict[str, bytes]:
    """``{name}.json`` (the body, byte for byte) and ``{name}.meta.json`` (redacted URL, status,
    rate-limit headers, fetch time, plus ``provenance``)."""
    meta = {**resp.sidecar(), **provenance}
    return {f"{name}.json": resp.body, f"{name}.meta.json": json.dumps(meta, indent=1).encode()}
