"""Perseverance (Mars 2020) raw images from JPL's RSS-API feed: response parsing.

Feed (keyless, undocumented; ``shared/docs/NASA_SOURCES.md`` §2)::

    https://mars.nasa.gov/rss/api/?feed=raw_images&category=mars2020&feedtype=json
        &sol=N                         every image of sol N, one response (slow: ~20 s)
        &latest=true                   {latest_sol, latest_sols, new_count, sol_count, total, ...}
        &num=N&page=P&order=sol+desc   list mode, P 0-based; with &sol=N pages one big sol

Response ``{images: [...], per_page: "N" (a string), page, total_results, total_images,
type, mission}``. Image: ``imageid`` (e.g. ``NLF_0100_0675828717_276ECM_N0040218NCAM00503_01_295J``),
``sol``, ``site`` (int), ``drive`` (string), ``sample_type`` ("Full"/"Thumbnail"/...),
``date_taken_utc``, ``date_taken_mars`` ("Sol-00100M15:26:09.623"), ``camera{instrument, ...}``,
``extended{dimension: "(w,h)", ...}`` (numbers as strings), ``image_files{small (320 px),
medium (800 px), large (1200 px), full_res (PNG)}``.

Choices (those of the retired Mars Rover Photos API v1 unless said otherwise):

* Only full frames: an image whose ``sample_type`` is not ``Full`` (case-insensitive) is
  *filtered*: it becomes a reject with ``filtered=True`` and reason ``"thumbnail filtered"``
  (``"<sample type> filtered"``), not a row. Rejects with ``filtered=False`` are malformed
  images for quarantine.
* ``img_src`` = ``image_files.large`` (https), as v1; an image without it is a reject.
  ``img_src_small`` / ``img_src_medium`` / ``img_src_full_res`` keep the other sizes.
* ``photo_id``: the feed has no numeric id, so it is :func:`stable_photo_id` — the first
  8 bytes of SHA-256 of the UTF-8 ``imageid``, big-endian, as a signed int64. Stable across
  runs and machines; collisions are negligible at the feed's ~10^6 images. It is *not* the
  id the v1 API gave the same photo (v1 had its own serial ids), so a photo seen through
  both sources has two photo_ids: match them on ``product_id``.
* ``camera``: the instrument name, which is the v1 camera name
  (:func:`mars_assets.sources.instruments.m2020_camera`); unknown instruments are kept with
  ``camera_known=False``.
* ``earth_date``: the v1 rule, landing 2021-02-18 + floor(sol × 88775.244 / 86400) days.
* Strings holding numbers are parsed: ``site``/``drive`` ("218" → 218), ``width``/``height``
  from ``extended.dimension`` ("(1280,960)"); ``date_taken_utc`` is a timezone-aware UTC
  datetime.

Rows have exactly the keys :data:`mars_assets.sources.instruments.PHOTO_ROW_KEYS`.
Everything here is pure: decoded JSON (or the raw body bytes) in, plain dicts out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mars_assets.sources.http import ApiResponse, PageView, record_ids
from mars_assets.sources.instruments import (
    JplFeedSource,
    earth_date_for_sol,
    m2020_camera,
    parse_page_list,
    parse_records,
)
from mars_assets.sources.values import (
    ResponseShapeError,
    decode_body,
    https,
    in_range,
    parse_dimension,
    parse_utc,
    records_of,
    str_or_none,
    to_int,
    to_sol,
)

SOURCE_NAME = "jpl_mars2020"
ROVER = "perseverance"
#: The feed endpoint and the query parameters every request carries.
FEED_URL = "https://mars.nasa.gov/rss/api/"
FEED_PARAMS: dict[str, str] = {"feed": "raw_images", "category": "mars2020", "feedtype": "json"}
#: ``sample_type`` values kept (compared lower-case): v1 kept only full frames.
FULL_ONLY: tuple[str, ...] = ("full",)


def stable_photo_id(imageid: str) -> int:
    """A stable signed int64 for an ``imageid``: the first 8 bytes of its SHA-256, big-endian, signed."""
    digest = hashlib.sha256(str(imageid).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def images_of(body: Any) -> list[Mapping[str, Any]]:
    """The image list of a response: ``{"images": [...]}``, or a bare list of images.

    ``body`` may be bytes/str (parsed as JSON). Raises ResponseShapeError otherwise.
    """
    return records_of(body, "images", "mars2020 feed response")


def page_info(body: Any) -> dict[str, int | None]:
    """Paging fields of a list-mode response as ints: ``per_page`` (served as a string),
    ``page`` and ``total_results`` (None when absent). Raises ResponseShapeError for a
    body that is not a JSON object."""
    body = decode_body(body)
    if not isinstance(body, Mapping):
        raise ResponseShapeError("mars2020 feed response is not an object")
    try:
        return {k: to_int(body.get(k)) for k in ("per_page", "page", "total_results")}
    except ValueError as exc:
        raise ResponseShapeError(f"bad paging field: {exc}") from None


def parse_latest_sol(body: Any) -> int:
    """``latest_sol`` of a ``latest=true`` response (an int, or a string holding one).

    Raises ResponseShapeError when it is missing or not an integer.
    """
    body = decode_body(body)
    value = body.get("latest_sol") if isinstance(body, Mapping) else None
    try:
        sol = to_int(value)
    except ValueError:
        sol = None
    if sol is None:
        raise ResponseShapeError(f"latest response has no integer 'latest_sol' (got {value!r})")
    return sol


def parse_image(obj: Mapping[str, Any], *, ingested_at: dt.datetime) -> dict[str, Any]:
    """One feed image as a normalised photo row (see the module docstring), whatever its sample_type.

    Raises ValueError/KeyError/TypeError (with a message naming the field) for an image
    that cannot be typed: no imageid, no sol, no instrument, no ``image_files.large``,
    a non-integer site/drive, a malformed dimension or date.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"image is {type(obj).__name__}, not an object")
    imageid = str_or_none(obj.get("imageid"))
    if imageid is None:
        raise ValueError("image has no imageid")
    sol = to_sol(obj.get("sol"))
    if sol is None:
        raise ValueError("image has no sol")
    camera_obj = obj.get("camera") or {}
    if not isinstance(camera_obj, Mapping):
        raise TypeError("'camera' is not an object")
    camera, full_name, known = m2020_camera(camera_obj.get("instrument"))
    files = obj.get("image_files") or {}
    if not isinstance(files, Mapping):
        raise TypeError("'image_files' is not an object")
    img_src = https(files.get("large"))
    if img_src is None:
        raise ValueError("image has no image_files.large (the v1 img_src)")
    extended = obj.get("extended") or {}
    if not isinstance(extended, Mapping):
        raise TypeError("'extended' is not an object")
    width, height = parse_dimension(extended.get("dimension"))
    return {
        "photo_id": stable_photo_id(imageid),
        "rover": ROVER,
        "sol": sol,
        "earth_date": earth_date_for_sol(ROVER, sol),
        "camera": camera,
        "camera_id": None,
        "camera_full_name": full_name,
        "img_src": img_src,
        "product_id": imageid,
        "source": SOURCE_NAME,
        "ingested_at": ingested_at,
        "sample_type": str_or_none(obj.get("sample_type")),
        "date_taken_utc": parse_utc(obj.get("date_taken_utc")),
        "date_taken_mars": str_or_none(obj.get("date_taken_mars")),
        "site": in_range(to_int(obj.get("site")), "site"),
        "drive": in_range(to_int(obj.get("drive")), "drive"),
        "width": width,
        "height": height,
        "img_src_small": https(files.get("small")),
        "img_src_medium": https(files.get("medium")),
        "img_src_full_res": https(files.get("full_res")),
        "camera_known": known,
    }


def parse_images(
    body: Any, *, ingested_at: dt.datetime, sample_types: Collection[str] = FULL_ONLY, _seen: set[str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One feed response → ``(rows, rejects)``.

    ``body``: the decoded response (``{"images": [...]}`` or a list) or its raw bytes.
    ``sample_types``: kept ``sample_type`` values, lower-case (default ``("full",)``, as v1).

    rows: normalised photo rows (keys :data:`~mars_assets.sources.instruments.PHOTO_ROW_KEYS`),
    in feed order. rejects: ``{"index", "product_id", "sample_type", "filtered", "reason"}``
    — ``index`` is the position in the response's image list; ``filtered=True`` for images
    left out by design (``"thumbnail filtered"``, ``"duplicate product_id ..."``),
    ``filtered=False`` for malformed images (reason ``"<Error>: <message>"``).
    Raises ResponseShapeError when the body has no image list.
    """
    return parse_records(
        images_of(body),
        sample_type_of=lambda obj: str_or_none(obj.get("sample_type")),
        parse=lambda obj: parse_image(obj, ingested_at=ingested_at),
        dedupe_key="product_id",
        duplicate_reason="duplicate product_id (the first one is kept)",
        sample_types=sample_types,
        seen=set() if _seen is None else _seen,
    )


def parse_pages(
    bodies: Iterable[Any], *, ingested_at: dt.datetime, sample_types: Collection[str] = FULL_ONLY
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Several responses (e.g. the pages of one sol) → ``(rows, rejects)``, duplicates across pages removed.

    Like :func:`parse_images`; each reject also has ``page`` (0-based position in ``bodies``).
    An imageid seen on an earlier page is a ``filtered`` reject, so overlapping pages
    never duplicate rows.
    """
    return parse_page_list(
        bodies, lambda body, seen: parse_images(body, ingested_at=ingested_at, sample_types=sample_types, _seen=seen)
    )


def _list_mode_page(resp: ApiResponse, page: int, page_size: int) -> PageView:
    try:
        images = images_of(resp.body)
        total = page_info(resp.body)["total_results"]
    except ResponseShapeError as exc:
        raise resp.unusable(exc) from None
    # more images than asked for: the feed ignored num/page and sent the whole sol
    last = len(images) != page_size or (total is not None and (page + 1) * page_size >= total)
    return PageView(record_ids(images, "imageid"), last=last)


@dataclass
class JplMars2020Source(JplFeedSource):
    """Perseverance raw images: ``{base_url}?feed=raw_images&category=mars2020&feedtype=json``.

    ``page_size=0`` (default) fetches a sol in one ``&sol=N`` request (the whole sol, ~20 s
    upstream); ``page_size>0`` pages it in list mode ``&sol=N&num={page_size}&page=P&order=sol
    desc`` (P 0-based), stopping at a short page, at ``total_results``, or at a page longer
    than asked for (the feed ignored paging: that page is the whole sol). ``max_pages``:
    safety stop; ``repeat_retries``: requests again of a repeating page.
    """

    name: ClassVar[str] = SOURCE_NAME
    parse_bodies = staticmethod(parse_pages)
    read_latest_sol = staticmethod(parse_latest_sol)
    rovers: ClassVar[frozenset[str]] = frozenset({ROVER})

    base_url: str = FEED_URL
    page_size: int = 0

    def get(self, **params: Any) -> ApiResponse:
        """GET the feed with its fixed parameters plus ``params``. Raises ApiError / RateLimitError."""
        return self.request(self.base_url, {**FEED_PARAMS, **params})

    def fetch_sol(self, rover: str, sol: int) -> list[ApiResponse]:
        """Every response of sol ``sol``, in order (one response when ``page_size`` is 0).

        Raises RuntimeError past ``max_pages``; ApiError / RateLimitError (a repeating page:
        :func:`mars_assets.sources.http.fetch_pages`).
        """
        if self.page_size <= 0:
            return [self.get(sol=int(sol))]
        return self.paged(
            lambda page: self.get(sol=int(sol), num=self.page_size, page=page, order="sol desc"),
            lambda resp, page: _list_mode_page(resp, page, self.page_size),
            first=0,
            what=f"{rover} sol {sol}",
        )

    def latest(self) -> ApiResponse:
        """The ``&latest=true`` response verbatim (``{latest_sol, latest_sols, new_count, ...}``)."""
        return self.get(latest="true")
