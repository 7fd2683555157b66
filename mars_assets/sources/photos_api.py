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
from collections.abc import Iterable, Mapping
from typing import Any

from mars_assets.sources.product_ids import parse_product_id

SOURCE_NAME = "photos_api_v1"


class ResponseShapeError(ValueError):
    """A response does not have the documented shape (the message names what is wrong)."""


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.date.fromisoformat(str(value)[:10])


def https_url(url: str) -> str:
    """``img_src`` with ``http://`` upgraded to ``https://`` (NASA answers http with a 301)."""
    return "https://" + url[len("http://") :] if url.startswith("http://") else url


def parse_rover(obj: Mapping[str, Any]) -> dict[str, Any]:
    """One rover object, long or short form, as a silver ``rovers`` row.

    Returns keys rover (lower-case name), rover_id, rover_name, landing_date, launch_date,
    status, max_sol, max_date, total_photos (the last three None in the short form) and
    cameras (list of ``{name, full_name}``, empty in the short form).

    Raises ResponseShapeError when ``name`` is missing.
    """
    if not isinstance(obj, Mapping) or "name" not in obj:
        raise ResponseShapeError(f"rover object without a name: {str(obj)[:120]}")
    cameras = [
        {"name": str(c.get("name")), "full_name": c.get("full_name")}
        for c in obj.get("cameras") or []
        if isinstance(c, Mapping) and c.get("name")
    ]
    return {
        "rover": str(obj["name"]).lower(),
        "rover_id": obj.get("id"),
        "rover_name": str(obj["name"]),
        "landing_date": _date(obj.get("landing_date")),
        "launch_date": _date(obj.get("launch_date")),
        "status": obj.get("status"),
        "max_sol": obj.get("max_sol"),
        "max_date": _date(obj.get("max_date")),
        "total_photos": obj.get("total_photos"),
        "cameras": cameras,
    }


def parse_rovers_listing(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``GET /rovers`` (``{"rovers": [...]}``) or ``GET /rovers/{name}`` (``{"rover": {...}}``)."""
    if "rovers" in body:
        return [parse_rover(r) for r in body["rovers"]]
    if "rover" in body:
        return [parse_rover(body["rover"])]
    raise ResponseShapeError("rovers response has neither 'rovers' nor 'rover'")


def photos_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The photo list of a ``photos`` or ``latest_photos`` response."""
    for key in ("photos", "latest_photos"):
        if key in body:
            if not isinstance(body[key], list):
                raise ResponseShapeError(f"'{key}' is not a list")
            return body[key]
    raise ResponseShapeError("photos response has neither 'photos' nor 'latest_photos'")


def parse_photo(obj: Mapping[str, Any], *, ingested_at: dt.datetime) -> dict[str, Any]:
    """One photo object as a silver ``photos`` row.

    Keys: photo_id, rover, sol, earth_date, camera, camera_id, camera_full_name, img_src
    (https), product_id (file name without extension), source, ingested_at, the JPL-only
    columns (None here) and camera_known (None with the short rover form).
    Raises ResponseShapeError (or KeyError/ValueError from a bad field) for a photo that
    cannot be typed; the caller quarantines it with the message.
    """
    camera = obj.get("camera") or {}
    rover = obj.get("rover") or {}
    img_src = https_url(str(obj["img_src"]))
    return {
        "photo_id": int(obj["id"]),
        "rover": str(rover.get("name", "")).lower() or None,
        "sol": int(obj["sol"]),
        "earth_date": _date(obj.get("earth_date")),
        "camera": str(camera["name"]),
        "camera_id": camera.get("id"),
        "camera_full_name": camera.get("full_name"),
        "img_src": img_src,
        "product_id": parse_product_id(img_src).product_id,
        "source": SOURCE_NAME,
        "ingested_at": ingested_at,
        # columns only the JPL feeds fill
        "sample_type": None, "date_taken_utc": None, "date_taken_mars": None, "site": None, "drive": None,
        "width": None, "height": None, "img_src_small": None, "img_src_medium": None, "img_src_full_res": None,
        # the long rover form lists the rover's cameras; the short form cannot tell
        "camera_known": (str(camera["name"]) in {c.get("name") for c in rover["cameras"]}
                         if isinstance(rover.get("cameras"), list) and rover["cameras"] else None),
    }


def parse_manifest(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``GET /manifests/{rover}`` → (rover row, manifest_sols rows).

    manifest_sols rows: rover, sol, earth_date, total_photos, cameras (sorted list).
    The API does not order ``photos`` by sol; rows are returned sorted by sol.
    Raises ResponseShapeError without ``photo_manifest``.
    """
    if "photo_manifest" not in body:
        raise ResponseShapeError("manifest response has no 'photo_manifest'")
    pm = body["photo_manifest"]
    rover = parse_rover(pm)
    sols = [
        {
            "rover": rover["rover"],
            "sol": int(e["sol"]),
            "earth_date": _date(e.get("earth_date")),
            "total_photos": int(e["total_photos"]),
            "cameras": sorted(str(c) for c in e.get("cameras") or []),
        }
        for e in pm.get("photos") or []
    ]
    sols.sort(key=lambda r: r["sol"])
    return rover, sols


def sort_for_paging(photos: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The order the API pages in: camera id, then photo id."""
    return sorted(photos, key=lambda p: ((p.get("camera") or {}).get("id") or 0, p["id"]))
