"""The answers the replay server's routes build from a recorded snapshot: JSON bodies and recorded files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: An answer to one request: status, headers, body.
Answer = tuple[int, dict[str, str], bytes]
Query = dict[str, list[str]]


def json_answer(status: int, body: Any) -> Answer:
    """``body`` encoded as JSON, with ``status``."""
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode()


def file_answer(path: Path, content_type: str) -> Answer:
    """The recorded file ``path`` as is (200)."""
    return 200, {"Content-Type": content_type}, path.read_bytes()


def first(query: Query, key: str) -> str | None:
    """The first value of ``key`` in a parsed query string, or None."""
    return (query.get(key) or [None])[0]
