"""Reference data and value rules shared by the JPL raw-image adapters.

Used by :mod:`mars_assets.sources.jpl_mars2020` (Perseverance) and
:mod:`mars_assets.sources.jpl_msl` (Curiosity). Facts from ``shared/docs/NASA_SOURCES.md``
(§1 camera names and landing dates of the retired Mars Rover Photos API v1, §2 the JPL
feeds). Everything here is pure.

Instrument → camera mapping
---------------------------
The JPL feeds name *instruments* (``NAVCAM_LEFT``, ``NAV_LEFT_B`` ...); the silver
``photos`` table holds v1-style *camera* names so that rows from the retired API and
from the live feeds sit in one column.

* Perseverance: the feed's instrument names *are* the v1 camera names
  (``NAVCAM_LEFT``, ``FRONT_HAZCAM_LEFT_A``, ``MCZ_LEFT``, ``SHERLOC_WATSON``,
  ``SUPERCAM_RMI``, ``SKYCAM``, ``EDL_*``, ``LCAM`` ...): identity mapping, with the v1
  full names.
* Curiosity, ``camera_names="classic"`` (the default): the seven cameras the v1 API used
  for most of the mission and that the recorded snapshot and manifests carry —
  ``NAV_*``→``NAVCAM``, ``FHAZ_*``→``FHAZ``, ``RHAZ_*``→``RHAZ``,
  ``MAST_LEFT``/``MAST_RIGHT``→``MAST``, ``CHEMCAM_RMI``→``CHEMCAM``, ``MAHLI``,
  ``MARDI``. Chosen so per-sol camera counts stay comparable with the v1 history; the
  left/right and A/B side survive in ``product_id``.
* Curiosity, ``camera_names="instrument"``: what the v1 API served since late 2024 —
  the instrument name itself (``NAV_LEFT_B``) with ``full_name`` equal to the name.

An instrument outside these maps is **kept**: ``camera`` = the instrument name as the
feed gave it (stripped), ``camera_full_name`` = None, ``camera_known`` = False. "Known"
means "one of the v1 API's cameras" (for Curiosity: an instrument code that maps onto
one); real instruments the v1 API never listed (e.g. Perseverance ``PIXL_MCC``,
``SHERLOC_ACI``, ``CACHECAM``) are therefore flagged unknown too.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import Any, Literal

from mars_assets.sources.photos_api import INT32_RANGE, INT64_RANGE, MAX_SOL, ResponseShapeError

#: Landing dates (UTC calendar day) of the rovers with JPL raw-image feeds (NASA_SOURCES §1).
LANDING_DATES: dict[str, dt.date] = {
    "perseverance": dt.date(2021, 2, 18),
    "curiosity": dt.date(2012, 8, 6),
}

#: Seconds in a Mars sol, the constant of the v1 API's earth_date rule.
SOL_SECONDS = 88775.244

#: Keys of a normalised photo row, in order. The first eleven are the v1 silver columns
#: (see ``photos_api.parse_photo``); the rest are new with the JPL feeds.
PHOTO_ROW_KEYS: tuple[str, ...] = (
    "photo_id",
    "rover",
    "sol",
    "earth_date",
    "camera",
    "camera_id",
    "camera_full_name",
    "img_src",
    "product_id",
    "source",
    "ingested_at",
    "sample_type",
    "date_taken_utc",
    "date_taken_mars",
    "site",
    "drive",
    "width",
    "height",
    "img_src_small",
    "img_src_medium",
    "img_src_full_res",
    "camera_known",
)

#: Perseverance: feed instrument → (v1 camera, v1 full name). Identity on the name.
M2020_CAMERAS: dict[str, tuple[str, str]] = {
    name: (name, full)
    for name, full in {
        "EDL_RUCAM": "Rover Up-Look Camera",
        "EDL_RDCAM": "Rover Down-Look Camera",
        "EDL_DDCAM": "Descent Stage Down-Look Camera",
        "EDL_PUCAM1": "Parachute Up-Look Camera A",
        "EDL_PUCAM2": "Parachute Up-Look Camera B",
        "NAVCAM_LEFT": "Navigation Camera - Left",
        "NAVCAM_RIGHT": "Navigation Camera - Right",
        "MCZ_LEFT": "Mast Camera Zoom - Left",
        "MCZ_RIGHT": "Mast Camera Zoom - Right",
        "FRONT_HAZCAM_LEFT_A": "Front Hazard Avoidance Camera - Left",
        "FRONT_HAZCAM_RIGHT_A": "Front Hazard Avoidance Camera - Right",
        "REAR_HAZCAM_LEFT": "Rear Hazard Avoidance Camera - Left",
        "REAR_HAZCAM_RIGHT": "Rear Hazard Avoidance Camera - Right",
        "SKYCAM": "MEDA Skycam",
        "SHERLOC_WATSON": "SHERLOC WATSON Camera",
        "SUPERCAM_RMI": "SuperCam Remote Micro Imager",
        "LCAM": "Lander Vision System Camera",
    }.items()
}

#: Curiosity v1 camera → full name (the v1 API's strings).
MSL_CLASSIC_FULL_NAMES: dict[str, str] = {
    "FHAZ": "Front Hazard Avoidance Camera",
    "RHAZ": "Rear Hazard Avoidance Camera",
    "MAST": "Mast Camera",
    "CHEMCAM": "Chemistry and Camera Complex",
    "MAHLI": "Mars Hand Lens Imager",
    "MARDI": "Mars Descent Imager",
    "NAVCAM": "Navigation Camera",
}

#: Curiosity: feed instrument → classic v1 camera.
MSL_INSTRUMENT_CAMERAS: dict[str, str] = {
    **{f"NAV_{eye}_{side}": "NAVCAM" for eye in ("LEFT", "RIGHT") for side in ("A", "B")},
    **{f"FHAZ_{eye}_{side}": "FHAZ" for eye in ("LEFT", "RIGHT") for side in ("A", "B")},
    **{f"RHAZ_{eye}_{side}": "RHAZ" for eye in ("LEFT", "RIGHT") for side in ("A", "B")},
    "MAST_LEFT": "MAST",
    "MAST_RIGHT": "MAST",
    "CHEMCAM_RMI": "CHEMCAM",
    "MAHLI": "MAHLI",
    "MARDI": "MARDI",
}

MslCameraNames = Literal["classic", "instrument"]


def m2020_camera(instrument: Any) -> tuple[str, str | None, bool]:
    """Perseverance feed instrument → ``(camera, camera_full_name, camera_known)``.

    Matching is case-insensitive; an unknown instrument gives ``(instrument, None, False)``.
    Raises ValueError for an empty instrument.
    """
    name = _instrument(instrument)
    hit = M2020_CAMERAS.get(name.upper())
    return (hit[0], hit[1], True) if hit else (name, None, False)


def msl_camera(instrument: Any, camera_names: MslCameraNames = "classic") -> tuple[str, str | None, bool]:
    """Curiosity feed instrument → ``(camera, camera_full_name, camera_known)``.

    ``camera_names="classic"``: ``NAV_LEFT_B`` → ``("NAVCAM", "Navigation Camera", True)``.
    ``camera_names="instrument"``: ``NAV_LEFT_B`` → ``("NAV_LEFT_B", "NAV_LEFT_B", True)``
    (the v1 API's late-2024 form). Unknown: ``(instrument, None, False)`` in both modes.
    Raises ValueError for an empty instrument or an unknown ``camera_names``.
    """
    if camera_names not in ("classic", "instrument"):
        raise ValueError(f"camera_names must be 'classic' or 'instrument', not {camera_names!r}")
    name = _instrument(instrument)
    classic = MSL_INSTRUMENT_CAMERAS.get(name.upper())
    if classic is None:
        return name, None, False
    if camera_names == "instrument":
        return name.upper(), name.upper(), True
    return classic, MSL_CLASSIC_FULL_NAMES[classic], True


def _instrument(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise ValueError("image has no instrument")
    return name


def earth_date_for_sol(rover: str, sol: int) -> dt.date:
    """The v1 API's computed ``earth_date``: landing date + floor(sol × 88775.244 / 86400) days.

    Not the acquisition time (that is ``date_taken_utc``). Raises KeyError for a rover
    without a landing date in :data:`LANDING_DATES`.
    """
    return LANDING_DATES[rover] + dt.timedelta(days=math.floor(int(sol) * SOL_SECONDS / 86400))


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


def parse_records(
    records: Iterable[Any],
    *,
    sample_type_of: Callable[[Mapping[str, Any]], str | None],
    parse: Callable[[Any], dict[str, Any]],
    dedupe_key: str,
    duplicate_reason: str,
    sample_types: Collection[str],
    seen: set[Hashable],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The shared loop of the JPL feed parsers: records → ``(rows, rejects)``.

    A record whose sample type (``sample_type_of``) is not in ``sample_types`` (lower case)
    is a ``filtered`` reject; ``parse`` raising KeyError/TypeError/ValueError gives a
    malformed reject (``"<Error>: <message>"``); a row whose ``dedupe_key`` is already in
    ``seen`` is a ``filtered`` reject with ``duplicate_reason``. Rejects:
    ``{"index", "product_id", "sample_type", "filtered", "reason"}``. ``seen`` is updated.
    """
    keep = {s.lower() for s in sample_types}
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        is_obj = isinstance(rec, Mapping)
        pid = str_or_none(rec.get("imageid")) if is_obj else None
        st = sample_type_of(rec) if is_obj else None

        def reject(reason: str, filtered: bool) -> None:
            rejects.append({"index": i, "product_id": pid, "sample_type": st, "filtered": filtered, "reason": reason})

        if is_obj and (st or "").lower() not in keep:
            reject(f"{st.lower()} filtered" if st else "sample_type missing: filtered", True)
            continue
        try:
            row = parse(rec)
        except (KeyError, TypeError, ValueError) as exc:
            reject(f"{type(exc).__name__}: {exc}", False)
            continue
        if row[dedupe_key] in seen:
            reject(duplicate_reason, True)
            continue
        seen.add(row[dedupe_key])
        rows.append(row)
    return rows, rejects


def parse_page_list(
    bodies: Iterable[Any], parse_one: Callable[[Any, set], tuple[list, list]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``parse_one(body, seen)`` over several pages with one shared ``seen`` set, so a record
    of an earlier page is a filtered duplicate; each reject also gets ``page`` (0-based)."""
    seen: set = set()
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for page, body in enumerate(bodies):
        r, j = parse_one(body, seen)
        rows.extend(r)
        rejects.extend({**x, "page": page} for x in j)
    return rows, rejects
