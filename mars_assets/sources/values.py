"""Typed-value rules shared by every source parser: what a field may hold, and its error.

Upstream JSON is untrusted: numbers arrive as ints, floats or strings, dates as ISO text,
URLs as http or https. Every function here turns one value into the type of its silver
column or raises :class:`ResponseShapeError` / ``ValueError`` with a message naming the
field, so the caller can quarantine the record with that reason. Pure.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any


class ResponseShapeError(ValueError):
    """A response does not have the documented shape (the message names what is wrong)."""


class MissingFieldError(ResponseShapeError, KeyError):
    """A required field is absent or null. A ResponseShapeError, and a KeyError as a dict
    lookup of the field would have raised; ``str()`` is the plain message."""

    __str__ = ValueError.__str__


#: Largest sol accepted anywhere (a century of a mission is about 35,500 sols). Bounding
#: sols keeps every typed value inside its silver column and date arithmetic finite.
MAX_SOL = 100_000
INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)
_INT_TEXT = re.compile(r"^[+-]?\d{1,25}$")


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about untrusted input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def strict_int(
    value: Any, field: str, *, lo: int = INT64_RANGE[0], hi: int = INT64_RANGE[1], required: bool = True
) -> int | None:
    """``value`` as an int within ``lo..hi``: an int, an integral finite float or a string of digits.

    ``None`` (or ``""``) gives None, or MissingFieldError when ``required``. Raises
    ResponseShapeError naming ``field`` for anything else (booleans, ``1.5``, ``"abc"``,
    NaN, infinity, a value out of range), so every typed value fits its silver column.
    """
    if value is None or value == "":
        if required:
            raise MissingFieldError(f"no {field}")
        return None
    if isinstance(value, bool):
        raise ResponseShapeError(f"{field} {shown(value)} is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ResponseShapeError(f"{field} {shown(value)} is not an integer")
        number = int(value)
    elif isinstance(value, str) and _INT_TEXT.match(value.strip()):
        number = int(value.strip())
    else:
        raise ResponseShapeError(f"{field} {shown(value)} is not an integer")
    if not lo <= number <= hi:
        raise ResponseShapeError(f"{field} {shown(number)} is outside {lo}..{hi}")
    return number


def optional_text(value: Any, field: str) -> str | None:
    """A string field: None/``""`` give None; numbers become their text; containers raise ResponseShapeError."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ResponseShapeError(f"{field} is {type(value).__name__}, not a string")


def parse_date(value: Any, field: str = "date") -> dt.date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ResponseShapeError(f"{field} {shown(value)} is not an ISO date")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ResponseShapeError(f"{field} {shown(value)} is not an ISO date") from None


# -- value coercion (the feeds put most numbers in strings) ------------------------------

_INT = re.compile(r"^[+-]?\d+$")
_PAIR = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_RECT = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$")


def to_int(value: Any) -> int | None:
    """``218`` / ``"218"`` / ``" 218 "`` / ``218.0`` → 218; None, ``""``, ``"null"`` → None.

    Raises ValueError for anything else (``"12.5"``, ``"abc"``, True).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"not an integer: {value!r}")
    text = str(value).strip()
    if text in ("", "null", "None"):
        return None
    if len(text) <= 25 and _INT.match(text):
        return int(text)
    raise ValueError(f"not an integer: {str(value)[:80]!r}")


#: Text the feeds put where a number is unknown (compared stripped, lower case).
_NO_NUMBER = frozenset({"", "unk", "null", "none", "nan"})


def optional_float(value: Any) -> float | None:
    """An optional measurement (``sclk``, ``mast_az``, ``mast_el``) as a finite float, else None.

    ``405141307.148`` / ``"172.142"`` / ``" -35.9525 "`` / ``5`` → the float. None, ``""``,
    ``"UNK"``, and any other value that is not a finite number (``"abc"``, ``True``, a list,
    NaN, infinity) → None: never raises, so an optional field can never quarantine a record
    (the schema-drift check, :mod:`mars_assets.sources.drift`, names a field whose type changed).
    """
    if type(value) is float:
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if not isinstance(value, str) or value.strip().lower() in _NO_NUMBER:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def in_range(value: int | None, field: str, lo: int = INT64_RANGE[0], hi: int = INT64_RANGE[1]) -> int | None:
    """``value`` unchanged when None or within ``lo..hi`` (default: int64); ValueError naming ``field`` otherwise.

    Keeps every parsed number inside its silver column type (and date arithmetic finite).
    """
    if value is not None and not lo <= value <= hi:
        raise ValueError(f"{field} {value} is outside {lo}..{hi}")
    return value


def to_sol(value: Any) -> int | None:
    """:func:`to_int` of a sol, which must lie in ``0..MAX_SOL``; ValueError otherwise."""
    return in_range(to_int(value), "sol", 0, MAX_SOL)


def parse_dimension(value: Any) -> tuple[int | None, int | None]:
    """``"(1280,960)"`` → ``(1280, 960)`` (width, height in pixels); None/``""`` → ``(None, None)``.

    Also accepts a subframe rectangle ``"(x,y,w,h)"`` (→ ``(w, h)``) and a two-item list.
    Raises ValueError for any other shape.
    """
    if value in (None, ""):
        return None, None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        pair = to_int(value[0]), to_int(value[1])
    elif m := _PAIR.match(text := str(value).strip()):
        pair = int(m[1]), int(m[2])
    elif m := _RECT.match(text):
        pair = int(m[3]), int(m[4])
    else:
        raise ValueError(f"not a dimension '(w,h)': {str(value)[:80]!r}")
    return in_range(pair[0], "width", 0, INT32_RANGE[1]), in_range(pair[1], "height", 0, INT32_RANGE[1])


def parse_utc(value: Any) -> dt.datetime | None:
    """An ISO-8601 time (``2021-06-01T03:12:44Z``, ``...44.123Z``, ``...+00:00``) → aware UTC datetime.

    A time without an offset is taken as UTC (the feeds label these fields ``_utc``).
    None/``""`` → None. Raises ValueError for text that is not ISO-8601.
    """
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00 has no UTC datetime
        raise ValueError(f"time {text[:40]!r} is out of range") from None


def https(url: Any) -> str | None:
    """``url`` as a string with ``http://`` upgraded to ``https://``; None/``""`` → None."""
    if url in (None, ""):
        return None
    text = str(url).strip()
    return "https://" + text[len("http://") :] if text.startswith("http://") else text


def str_or_none(value: Any) -> str | None:
    """``value`` as a stripped string; None/``""`` → None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def decode_body(body: Any) -> Any:
    """A response body as decoded JSON: ``bytes``/``str`` are parsed, anything else is returned as is.

    Raises ``photos_api.ResponseShapeError`` for bytes/str that are not JSON.
    """
    if isinstance(body, (bytes, bytearray, str)):
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ResponseShapeError(f"body is not JSON: {exc}") from None
    return body


def records_of(body: Any, key: str, what: str) -> list[Any]:
    """The record list of a feed response: ``{key: [...]}``, or a bare list.

    ``body`` may be bytes/str (parsed as JSON). Raises ResponseShapeError otherwise
    (``what`` names the response in the message).
    """
    body = decode_body(body)
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping) and key in body:
        if not isinstance(body[key], list):
            raise ResponseShapeError(f"'{key}' is not a list")
        return body[key]
    raise ResponseShapeError(f"{what} has no '{key}' list")
