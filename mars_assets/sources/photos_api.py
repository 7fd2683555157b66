"""The NASA Mars Rover Photos API v1 (and v1-compatible mirrors): the adapter and its parsers.

Routes and fields: https://github.com/corincerami/mars-photo-api (archived 2025-10) and
``shared/docs/NASA_SOURCES.md``. The embedded ``rover`` object has been served in two
forms — long ``{id, name, landing_date, launch_date, status, max_sol, max_date,
total_photos, cameras}`` and short ``{id, name, landing_date, launch_date, status}`` —
so every field beyond the short form is optional here.

The parsers take decoded JSON and return plain dicts whose keys are the silver columns;
:class:`PhotosApiSource` fetches verbatim pages over :mod:`mars_assets.sources.http`. Pure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from mars_assets.sources.base import ParsedPages, PhotoSource
from mars_assets.sources.drift import EXPECTED, Drift, check
from mars_assets.sources.http import ApiResponse, PagedSource, PageView, checked, record_ids
from mars_assets.sources.instruments import PHOTO_ROW_KEYS
from mars_assets.sources.product_ids import product_sclk, product_stem
from mars_assets.sources.ratelimit import is_loopback
from mars_assets.sources.values import (
    INT32_RANGE,
    MAX_SOL,
    MissingFieldError,
    ResponseShapeError,
    https,
    optional_text,
    parse_date,
    shown,
    strict_int,
)

SOURCE_NAME = "photos_api_v1"
DEFAULT_URL = "https://api.nasa.gov/mars-photos/api/v1"
DEMO_KEY = "DEMO_KEY"
#: api.data.gov's published limits (https://api.data.gov/docs/developer-manual/#rate-limits):
#: a registered key 1,000 requests an hour (rolling); DEMO_KEY 30 an hour and 50 a day per IP.
KEY_RATE = "1000/h"
DEMO_KEY_RATE = "30/h+50/d"
#: The fields of a v1 photo object (:mod:`mars_assets.sources.drift_fields`).
V1_FIELDS = EXPECTED[SOURCE_NAME]
#: A photo row with every column null, in column order (:func:`parse_photo` fills a copy).
_NULL_ROW: dict[str, Any] = dict.fromkeys(PHOTO_ROW_KEYS)


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
        "landing_date": parse_date(obj.get("landing_date"), "landing_date"),
        "launch_date": parse_date(obj.get("launch_date"), "launch_date"),
        "status": optional_text(obj.get("status"), "status"),
        "max_sol": strict_int(obj.get("max_sol"), "max_sol", lo=0, hi=MAX_SOL, required=False),
        "max_date": parse_date(obj.get("max_date"), "max_date"),
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


#: An https URL with a plain host name (the common case, checked without urlsplit).
_PLAIN_HTTPS = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/|$)")


def _img_src(value: Any) -> str:
    if value is None or value == "":
        raise MissingFieldError("photo has no img_src")
    if not isinstance(value, str):
        raise ResponseShapeError(f"img_src is {type(value).__name__}, not a string")
    url = https(value)
    if _PLAIN_HTTPS.match(url):
        return url
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
    (https), product_id (file name without extension), source, ingested_at, sample_type
    ("full"), the JPL-only columns (None here) but ``sclk`` — the spacecraft clock seconds the
    product id carries (:func:`~mars_assets.sources.product_ids.product_sclk`: Mars 2020, MSL
    engineering-camera and MER names; None for MSL Mastcam/MAHLI/MARDI names) — and
    camera_known (None with the short rover form).

    Every value is typed for its silver column: photo_id an int64, sol in ``0..MAX_SOL``
    (a negative or non-integer sol is refused, never truncated), camera_id an int32,
    img_src an http(s) URL (``http://`` upgraded). Raises ResponseShapeError (a
    ValueError; MissingFieldError, also a KeyError, for an absent ``id``, ``sol``,
    ``img_src`` or camera) with a message naming the field, for a photo that cannot be
    typed; the caller quarantines it with the message.
    """
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise ResponseShapeError(f"photo is {type(obj).__name__}, not an object")
    camera = obj.get("camera")
    if camera is None:
        raise MissingFieldError("photo has no camera")
    if type(camera) is not dict and not isinstance(camera, Mapping):
        raise ResponseShapeError(f"photo camera is {type(camera).__name__}, not an object")
    camera_name = camera.get("name")
    if camera_name is None or camera_name == "":
        raise MissingFieldError("photo camera has no name")
    if not isinstance(camera_name, str):
        raise ResponseShapeError(f"photo camera name is {type(camera_name).__name__}, not a string")
    rover = obj.get("rover")
    if rover is None:
        rover = {}
    if type(rover) is not dict and not isinstance(rover, Mapping):
        raise ResponseShapeError(f"photo rover is {type(rover).__name__}, not an object")
    rover_name = optional_text(rover.get("name"), "rover name")
    img_src = _img_src(obj.get("img_src"))
    listed = rover.get("cameras")
    listed = listed if isinstance(listed, list) and listed else None
    # a copy of the all-null row, filled in column order: half the cost of a 30-key dict literal
    row = _NULL_ROW.copy()
    row["photo_id"] = strict_int(obj.get("id"), "id")
    row["rover"] = rover_name.lower() if rover_name else None
    row["sol"] = strict_int(obj.get("sol"), "sol", lo=0, hi=MAX_SOL)
    row["earth_date"] = parse_date(obj.get("earth_date"), "earth_date")
    row["camera"] = camera_name
    row["camera_id"] = strict_int(camera.get("id"), "camera id", lo=INT32_RANGE[0], hi=INT32_RANGE[1], required=False)
    row["camera_full_name"] = optional_text(camera.get("full_name"), "camera full_name")
    row["img_src"] = img_src
    row["product_id"] = product_id = product_stem(img_src)
    row["source"] = SOURCE_NAME
    row["ingested_at"] = ingested_at
    row["sample_type"] = "full"  # the v1 API served full frames only
    # of the columns the JPL feeds fill: the clock a Mars 2020, MSL engineering or MER name carries
    if (clock := product_sclk(product_id)) is not None:
        row["sclk"] = float(clock)
    # the long rover form lists the rover's cameras; the short form cannot tell
    if listed is not None:
        row["camera_known"] = any(
            (type(c) is dict or isinstance(c, Mapping)) and c.get("name") == camera_name for c in listed
        )
    return row


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
                    "earth_date": parse_date(e.get("earth_date"), "earth_date"),
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


def _v1_page(resp: ApiResponse, page_size: int) -> PageView:
    try:
        photos = photos_of(resp.json())
    except ResponseShapeError as exc:
        raise resp.unusable(exc) from None
    return PageView(record_ids(photos, "id"), last=len(photos) < page_size)


@dataclass
class PhotosApiSource(PagedSource, PhotoSource):
    """The Mars Rover Photos API v1 or a v1-compatible mirror (every rover).

    The v1 API at api.nasa.gov was retired in October 2025; ``base_url`` points at a mirror
    or at the snapshot replay server. ``api_key`` (``NASA_API_KEY``; ``DEMO_KEY``: 30
    requests an hour, 50 a day per IP) travels in the ``api_key`` query parameter and is
    never shown. ``page_size``: 0 (default) asks for a sol in one request without ``page``,
    as the original API answered with the whole sol (NASA_SOURCES.md §1); above 0 it pages
    with ``page`` and ``per_page=page_size`` (a mirror that pages: its largest page size).
    ``max_pages``: safety stop of a sol's paging; ``repeat_retries``: requests again of a
    repeating page.

    Limits when not configured (see :class:`~mars_assets.sources.http.HttpSource`): the
    api.data.gov figures, ``1000/h`` with a key and ``30/h+50/d`` with DEMO_KEY, counted
    apart from the keyed requests (``-demo`` limiter key), for every base URL but a loopback
    one (the replay server or a local mirror enforces and advertises its own limit, which the
    client heeds); ``concurrency`` 4, or 1 with DEMO_KEY on a real upstream (30 requests an
    hour leave nothing for parallel sols to gain, and one waiter at a time keeps the limiter's
    waits short).
    """

    name: ClassVar[str] = SOURCE_NAME
    rovers: ClassVar[frozenset[str]] = frozenset({"curiosity", "opportunity", "perseverance", "spirit"})

    base_url: str = DEFAULT_URL
    api_key: str = field(default=DEMO_KEY, repr=False)  # a secret: never in a repr
    timeout_seconds: float = 30.0
    page_size: int = 0
    max_pages: int = 2000

    def __post_init__(self) -> None:
        if self.page_size < 0:
            raise ValueError(f"page_size must be 0 (the whole sol in one request) or more, not {self.page_size}")
        super().__post_init__()

    def default_concurrency(self) -> int:
        return 1 if self.api_key == DEMO_KEY and not is_loopback(self.base_url) else 4

    def default_rate(self) -> str:
        if is_loopback(self.base_url):
            return "none"
        return DEMO_KEY_RATE if self.api_key == DEMO_KEY else KEY_RATE

    def limiter_key(self) -> str:
        return super().limiter_key() + ("-demo" if self.api_key == DEMO_KEY else "")

    def get(self, path: str, **params: Any) -> ApiResponse:
        """GET ``base_url + path`` with ``params`` (and the key). Raises ApiError / RateLimitError."""
        return self.request(self.base_url.rstrip("/") + path, params, secret={"api_key": self.api_key})

    def rovers_listing(self) -> ApiResponse:
        """``GET /rovers``, checked to parse (ApiError saying why when it does not)."""
        return checked(self.get("/rovers"), parse_rovers_listing)

    def manifest(self, rover: str) -> ApiResponse:
        """``GET /manifests/{rover}``, checked to parse (ApiError saying why when it does not)."""
        return checked(self.get(f"/manifests/{rover}"), parse_manifest)

    def fetch_sol(self, rover: str, sol: int) -> list[ApiResponse]:
        """Every response of ``/rovers/{rover}/photos?sol={sol}``: one without ``page`` when
        ``page_size`` is 0, else every page until a short one.

        The API gives no totals; a page with fewer than ``page_size`` photos is the last.
        Every response is checked before it is kept: a body that is not JSON (an HTML error page
        served with 200, say) or has no ``photos`` list raises ApiError naming the page, so
        bronze is never replaced by an unusable answer. A repeating page follows the rule of
        :func:`mars_assets.sources.http.fetch_pages`. Raises ApiError for an unknown rover
        (HTTP 400), RateLimitError, and RuntimeError past ``max_pages``.
        """
        path = f"/rovers/{rover}/photos"
        if self.page_size == 0:
            resp = self.get(path, sol=int(sol))
            _v1_page(resp, 1)  # the same check as a page's
            return [resp]
        return self.paged(
            lambda page: self.get(path, sol=int(sol), page=page, per_page=self.page_size),
            lambda resp, _page: _v1_page(resp, self.page_size),
            first=1,
            what=f"{rover} sol {sol}",
        )

    @staticmethod
    def parse_pages(bodies: Sequence[tuple[str, Any]], *, ingested_at: dt.datetime) -> ParsedPages:
        """v1 ``photos`` pages → rows; a photo that cannot be typed is a reject with its reason;
        ``drift``: the photo objects' fields against v1's (:mod:`mars_assets.sources.drift`)."""
        out = ParsedPages(drift=Drift(SOURCE_NAME))
        for name, body in bodies:
            photos = photos_of(body)
            check(V1_FIELDS, photos, into=out.drift)
            for obj in photos:
                try:
                    out.rows.append(parse_photo(obj, ingested_at=ingested_at))
                except (KeyError, TypeError, ValueError) as exc:
                    key = str(obj.get("id")) if isinstance(obj, Mapping) else None
                    out.rejects.append(
                        {"record_key": key, "origin": name, "reason": f"{type(exc).__name__}: {exc}", "raw": obj}
                    )
        return out

    def manifest_totals(self, rover: str) -> dict[int, int]:
        """``{sol: total_photos}`` of the rover's manifest. Raises ApiError."""
        _rover, entries = parse_manifest(self.manifest(rover).json())
        return {e["sol"]: e["total_photos"] for e in entries}

    def latest_sol(self, rover: str) -> int:
        """``max_sol`` of the rover's manifest. Raises ApiError (also when the manifest has none)."""
        resp = self.manifest(rover)
        latest = parse_manifest(resp.json())[0]["max_sol"]
        if latest is None:
            raise resp.unusable("manifest has no max_sol")
        return latest
