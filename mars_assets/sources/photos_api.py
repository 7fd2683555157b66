"""The NASA Mars Rover Photos API v1 (and v1-compatible mirrors): response parsing.

Routes and fields: https://github.com/corincerami/mars-photo-api (archived 2025-10) and
``shared/docs/NASA_SOURCES.md``. The embedded ``rover`` object has been served in two
forms — long ``{id, name, landing_date, launch_date, status, max_sol, max_date,
total_photos, cameras}`` and short ``{id, name, landing_date, launch_date, status}`` —
so every field beyond the short form is optional here.

Everything in this module is pure: it takes decoded JSON and returns plain dicts whose
keys are the silver columns.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from mars_assets.sources.product_ids import parse_product_id

SOURCE_NAME = "photos_api_v1"


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


def _date(value: Any, field: str = "date") -> dt.date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ResponseShapeError(f"{field} {shown(value)} is not an ISO date")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ResponseShapeError(f"{field} {shown(value)} is not an ISO date") from None


def https_url(url: str) -> str:
    """``img_src`` with ``http://`` upgraded to ``https://`` (NASA answers http with a 301)."""
    return "https://" + url[len("http://") :] if url.startswith("http://") else url


def parse_rover(obj: Mapping[str, Any]) -> dict[str, Any]:
    """One rover object, long or short form, as a silver ``rovers`` row.

    Returns keys rover (lower-case name), rover_id, rover_name, landing_date, launch_date,
    status, max_sol, max_date, total_photos (the last three None in the short form) and
    cameras (list of ``{name, full_name}``, empty in the short form).

    Raises ResponseShapeError when ``name`` is missing or a field has the wrong type
    (numbers are checked against their silver column types).
    """
    if not isinstance(obj, Mapping) or not isinstance(obj.get("name"), str) or not obj["name"].strip():
        raise ResponseShapeError(f"rover object without a name: {str(obj)[:120]}")
    listed = obj.get("cameras")
    if listed is not None and not isinstance(listed, list):
        raise ResponseShapeError(f"rover cameras is {type(listed).__name__}, not a list")
    cameras = [
        {
            "name": optional_text(c.get("name"), "camera name"),
            "full_name": optional_text(c.get("full_name"), "camera full_name"),
        }
        for c in listed or []
        if isinstance(c, Mapping) and c.get("name")
    ]
    return {
        "rover": obj["name"].strip().lower(),
        "rover_id": strict_int(obj.get("id"), "rover id", lo=INT32_RANGE[0], hi=INT32_RANGE[1], required=False),
        "rover_name": obj["name"],
        "landing_date": _date(obj.get("landing_date"), "landing_date"),
        "launch_date": _date(obj.get("launch_date"), "launch_date"),
        "status": optional_text(obj.get("status"), "status"),
        "max_sol": strict_int(obj.get("max_sol"), "max_sol", lo=0, hi=MAX_SOL, required=False),
        "max_date": _date(obj.get("max_date"), "max_date"),
        "total_photos": strict_int(obj.get("total_photos"), "total_photos", lo=0, required=False),
        "cameras": cameras,
    }


def parse_rovers_listing(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``GET /rovers`` (``{"rovers": [...]}``) or ``GET /rovers/{name}`` (``{"rover": {...}}``).

    Raises ResponseShapeError for any other shape.
    """
    if not isinstance(body, Mapping):
        raise ResponseShapeError(f"rovers response is {type(body).__name__}, not an object")
    if "rovers" in body:
        if not isinstance(body["rovers"], list):
            raise ResponseShapeError("'rovers' is not a list")
        return [parse_rover(r) for r in body["rovers"]]
    if "rover" in body:
        return [parse_rover(body["rover"])]
    raise ResponseShapeError("rovers response has neither 'rovers' nor 'rover'")


def photos_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The photo list of a ``photos`` or ``latest_photos`` response.

    Raises ResponseShapeError for a body that is not an object with such a list (an
    error answer like ``{"errors": "Invalid Rover Name"}`` included).
    """
    if not isinstance(body, Mapping):
        raise ResponseShapeError(f"photos response is {type(body).__name__}, not an object")
    for key in ("photos", "latest_photos"):
        if key in body:
            if not isinstance(body[key], list):
                raise ResponseShapeError(f"'{key}' is not a list")
            return body[key]
    raise ResponseShapeError("photos response has neither 'photos' nor 'latest_photos'")


def _img_src(value: Any) -> str:
    if value is None or value == "":
        raise MissingFieldError("photo has no img_src")
    if not isinstance(value, str):
        raise ResponseShapeError(f"img_src is {type(value).__name__}, not a string")
    url = https_url(value.strip())
    try:
        parts = urlsplit(url)
        ok = parts.scheme == "https" and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise ResponseShapeError(f"img_src {shown(value)} is not an http(s) URL")
    return url


def parse_photo(obj: Mapping[str, Any], *, ingested_at: dt.datetime) -> dict[str, Any]:
    """One photo object as a silver ``photos`` row.

    Keys: photo_id, rover, sol, earth_date, camera, camera_id, camera_full_name, img_src
    (https), product_id (file name without extension), source, ingested_at, the JPL-only
    columns (None here) and camera_known (None with the short rover form).

    Every value is typed for its silver column: photo_id an int64, sol in ``0..MAX_SOL``
    (a negative or non-integer sol is refused, never truncated), camera_id an int32,
    img_src an http(s) URL (``http://`` upgraded). Raises ResponseShapeError (a
    ValueError; MissingFieldError, also a KeyError, for an absent ``id``, ``sol``,
    ``img_src`` or camera) with a message naming the field, for a photo that cannot be
    typed; the caller quarantines it with the message.
    """
    if not isinstance(obj, Mapping):
        raise ResponseShapeError(f"photo is {type(obj).__name__}, not an object")
    camera = obj.get("camera")
    if camera is None:
        raise MissingFieldError("photo has no camera")
    if not isinstance(camera, Mapping):
        raise ResponseShapeError(f"photo camera is {type(camera).__name__}, not an object")
    camera_name = camera.get("name")
    if camera_name is None or camera_name == "":
        raise MissingFieldError("photo camera has no name")
    if not isinstance(camera_name, str):
        raise ResponseShapeError(f"photo camera name is {type(camera_name).__name__}, not a string")
    rover = obj.get("rover")
    if rover is None:
        rover = {}
    if not isinstance(rover, Mapping):
        raise ResponseShapeError(f"photo rover is {type(rover).__name__}, not an object")
    rover_name = optional_text(rover.get("name"), "rover name")
    img_src = _img_src(obj.get("img_src"))
    listed = rover.get("cameras")
    listed_names = (
        {c.get("name") for c in listed if isinstance(c, Mapping)} if isinstance(listed, list) and listed else None
    )
    return {
        "photo_id": strict_int(obj.get("id"), "id"),
        "rover": rover_name.lower() if rover_name else None,
        "sol": strict_int(obj.get("sol"), "sol", lo=0, hi=MAX_SOL),
        "earth_date": _date(obj.get("earth_date"), "earth_date"),
        "camera": camera_name,
        "camera_id": strict_int(camera.get("id"), "camera id", lo=INT32_RANGE[0], hi=INT32_RANGE[1], required=False),
        "camera_full_name": optional_text(camera.get("full_name"), "camera full_name"),
        "img_src": img_src,
        "product_id": parse_product_id(img_src).product_id,
        "source": SOURCE_NAME,
        "ingested_at": ingested_at,
        # columns only the JPL feeds fill
        "sample_type": None,
        "date_taken_utc": None,
        "date_taken_mars": None,
        "site": None,
        "drive": None,
        "width": None,
        "height": None,
        "img_src_small": None,
        "img_src_medium": None,
        "img_src_full_res": None,
        # the long rover form lists the rover's cameras; the short form cannot tell
        "camera_known": None if listed_names is None else camera_name in listed_names,
    }


def parse_manifest(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``GET /manifests/{rover}`` → (rover row, manifest_sols rows).

    manifest_sols rows: rover, sol, earth_date (None when absent), total_photos, cameras
    (sorted list). The API does not order ``photos`` by sol; rows are returned sorted by sol.
    Raises ResponseShapeError without ``photo_manifest``, and for an entry that cannot be
    typed (the message gives its index): a manifest is all or nothing, it has no quarantine.
    """
    if not isinstance(body, Mapping) or "photo_manifest" not in body:
        raise ResponseShapeError("manifest response has no 'photo_manifest'")
    pm = body["photo_manifest"]
    rover = parse_rover(pm)
    entries = pm.get("photos")
    if entries is not None and not isinstance(entries, list):
        raise ResponseShapeError(f"manifest photos is {type(entries).__name__}, not a list")
    sols = []
    for i, e in enumerate(entries or []):
        try:
            if not isinstance(e, Mapping):
                raise ResponseShapeError(f"is {type(e).__name__}, not an object")
            cameras = e.get("cameras")
            if cameras is not None and not isinstance(cameras, list):
                raise ResponseShapeError(f"cameras is {type(cameras).__name__}, not a list")
            sols.append(
                {
                    "rover": rover["rover"],
                    "sol": strict_int(e.get("sol"), "sol", lo=0, hi=MAX_SOL),
                    "earth_date": _date(e.get("earth_date"), "earth_date"),
                    "total_photos": strict_int(e.get("total_photos"), "total_photos", lo=0),
                    "cameras": sorted(optional_text(c, "camera") or "" for c in cameras or []),
                }
            )
        except ResponseShapeError as exc:
            raise ResponseShapeError(f"manifest entry {i}: {exc}") from None
    sols.sort(key=lambda r: r["sol"])
    return rover, sols


def sort_for_paging(photos: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The order the API pages in: camera id, then photo id.

    Records a recording may hold by mistake (not objects, ids that are not integers) sort
    last, in their recorded order, so a replayed sol is served whatever it contains.
    """

    def key(p: Any) -> tuple:
        if not isinstance(p, Mapping):
            return (1, 0, 0)
        camera = p.get("camera")
        cid = camera.get("id") if isinstance(camera, Mapping) else None
        pid = p.get("id")
        typed = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in (cid, pid)]
        return (0, typed[0] or 0, typed[1]) if typed[1] is not None else (1, 0, 0)

    return sorted(photos, key=key)
