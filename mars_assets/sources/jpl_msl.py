"""Curiosity (MSL) raw images from JPL's ``raw_image_items`` API: response parsing.

Endpoint (keyless, undocumented; ``shared/docs/NASA_SOURCES.md`` §2)::

    https://mars.nasa.gov/api/v1/raw_image_items/
        ?order=sol desc,instrument_sort asc,sample_type_sort asc, date_taken desc
        &per_page=1000&page=0&condition_1=msl:mission&condition_2={sol}:sol:in

``per_page`` up to 1000 (the default: a busy sol of 400-900 items in one request), ``page``
0-based; page on ``more``. Latest sol: ``per_page=1&page=0``
ordered by sol desc, without ``condition_2``. (``category=msl`` on the RSS feed does not
serve Curiosity.)

Response ``{items: [...], more: bool, total: int, page, per_page}``. Item: ``id`` (int),
``imageid``, ``sol``, ``instrument`` (``NAV_LEFT_B``, ``FHAZ_RIGHT_A``, ``MAST_LEFT``,
``CHEMCAM_RMI``, ``MAHLI`` ...), ``url``, ``https_url``, ``date_taken``, ``date_received``,
``site``, ``drive``, ``extended{sample_type ('full'|'thumbnail'|...), lmst, mast_az, mast_el, ...}``.

Choices (those of the retired Mars Rover Photos API v1 unless said otherwise):

* Only full frames: an item whose ``extended.sample_type`` (top-level ``sample_type`` if
  ``extended`` has none) is not ``full`` is *filtered*: a reject with ``filtered=True`` and
  reason ``"thumbnail filtered"``; ``filtered=False`` rejects are malformed items.
* ``img_src`` = ``https_url`` (v1's choice); when it is missing, ``url`` upgraded to https.
  The feed has one URL per item (thumbnails are separate items), so ``img_src_small`` /
  ``img_src_medium`` / ``img_src_full_res`` are None.
* ``photo_id`` = the feed's ``id``; ``product_id`` = ``imageid``.
* ``camera``: ``camera_names="classic"`` (default) maps instruments onto the seven v1
  cameras (``NAV_LEFT_B`` → ``NAVCAM``); ``"instrument"`` keeps the instrument name with
  ``full_name`` = name, as v1 did since late 2024. See :mod:`mars_assets.sources.instruments`.
  Unknown instruments are kept with ``camera_known=False``.
* ``earth_date``: the v1 rule, landing 2012-08-06 + floor(sol × 88775.244 / 86400) days.
* ``date_taken_utc`` ← ``date_taken`` (aware UTC); ``date_taken_mars`` ← ``extended.lmst``;
  ``site``/``drive`` parsed from strings; ``width``/``height`` from ``extended.dimension``
  ``"(w,h)"`` when present (not in the documented field list: None when absent).

Rows have exactly the keys :data:`mars_assets.sources.instruments.PHOTO_ROW_KEYS`.
Everything here is pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, ClassVar

from mars_assets.sources.http import ApiResponse, PageView, record_ids
from mars_assets.sources.instruments import (
    JplFeedSource,
    MslCameraNames,
    earth_date_for_sol,
    msl_camera,
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

SOURCE_NAME = "jpl_msl"
ROVER = "curiosity"
FEED_URL = "https://mars.nasa.gov/api/v1/raw_image_items/"
#: The feed's own ordering (as the raw-image site sends it).
ORDER = "sol desc,instrument_sort asc,sample_type_sort asc, date_taken desc"
MISSION_CONDITION = "msl:mission"
FULL_ONLY: tuple[str, ...] = ("full",)
MAX_PER_PAGE = 1000


def sol_condition(sol: int) -> str:
    """``condition_2`` selecting one sol: ``"{sol}:sol:in"``."""
    return f"{int(sol)}:sol:in"


def items_of(body: Any) -> list[Mapping[str, Any]]:
    """The item list of a response: ``{"items": [...]}``, or a bare list of items.

    ``body`` may be bytes/str (parsed as JSON). Raises ResponseShapeError otherwise.
    """
    return records_of(body, "items", "raw_image_items response")


def page_info(body: Any) -> dict[str, Any]:
    """Paging fields: ``more`` (bool, None when absent), ``total``, ``page``, ``per_page`` (ints or None).

    Raises ResponseShapeError for a body that is not a JSON object or bad numbers.
    """
    body = decode_body(body)
    if not isinstance(body, Mapping):
        raise ResponseShapeError("raw_image_items response is not an object")
    more = body.get("more")
    if isinstance(more, str):
        more = more.strip().lower() == "true"
    try:
        return {
            "more": None if more is None else bool(more),
            **{k: to_int(body.get(k)) for k in ("total", "page", "per_page")},
        }
    except ValueError as exc:
        raise ResponseShapeError(f"bad paging field: {exc}") from None


def parse_latest_sol(body: Any) -> int:
    """The highest ``sol`` among a response's items (the latest-sol query asks for one item).

    Raises ResponseShapeError when there is no item with an integer sol.
    """
    sols = []
    for item in items_of(body):
        try:
            sol = to_sol(item.get("sol")) if isinstance(item, Mapping) else None
        except ValueError:
            sol = None
        if sol is not None:
            sols.append(sol)
    if not sols:
        raise ResponseShapeError("raw_image_items response has no item with a sol")
    return max(sols)


def _sample_type(item: Mapping[str, Any]) -> str | None:
    extended = item.get("extended")
    value = extended.get("sample_type") if isinstance(extended, Mapping) else None
    return str_or_none(value if value not in (None, "") else item.get("sample_type"))


def parse_item(
    item: Mapping[str, Any], *, ingested_at: dt.datetime, camera_names: MslCameraNames = "classic"
) -> dict[str, Any]:
    """One feed item as a normalised photo row (see the module docstring), whatever its sample_type.

    Raises ValueError/KeyError/TypeError (message names the field) for an item that
    cannot be typed: no id, no sol, no instrument, no https_url/url, bad numbers or dates.
    """
    if not isinstance(item, Mapping):
        raise TypeError(f"item is {type(item).__name__}, not an object")
    photo_id = in_range(to_int(item.get("id")), "id")
    if photo_id is None:
        raise ValueError("item has no id")
    sol = to_sol(item.get("sol"))
    if sol is None:
        raise ValueError("item has no sol")
    camera, full_name, known = msl_camera(item.get("instrument"), camera_names)
    img_src = https(item.get("https_url")) or https(item.get("url"))
    if img_src is None:
        raise ValueError("item has neither https_url nor url")
    extended = item.get("extended") or {}
    if not isinstance(extended, Mapping):
        raise TypeError("'extended' is not an object")
    width, height = parse_dimension(extended.get("dimension"))
    product_id = str_or_none(item.get("imageid")) or PurePosixPath(img_src.split("?", 1)[0]).name.split(".", 1)[0]
    return {
        "photo_id": photo_id,
        "rover": ROVER,
        "sol": sol,
        "earth_date": earth_date_for_sol(ROVER, sol),
        "camera": camera,
        "camera_id": None,
        "camera_full_name": full_name,
        "img_src": img_src,
        "product_id": product_id,
        "source": SOURCE_NAME,
        "ingested_at": ingested_at,
        "sample_type": _sample_type(item),
        "date_taken_utc": parse_utc(item.get("date_taken")),
        "date_taken_mars": str_or_none(extended.get("lmst")),
        "site": in_range(to_int(item.get("site")), "site"),
        "drive": in_range(to_int(item.get("drive")), "drive"),
        "width": width,
        "height": height,
        "img_src_small": None,
        "img_src_medium": None,
        "img_src_full_res": None,
        "camera_known": known,
    }


def parse_items(
    body: Any,
    *,
    ingested_at: dt.datetime,
    sample_types: Collection[str] = FULL_ONLY,
    camera_names: MslCameraNames = "classic",
    _seen: set[int] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One response → ``(rows, rejects)``.

    ``body``: the decoded response (``{"items": [...]}`` or a list) or its raw bytes.
    ``sample_types``: kept sample types, lower-case (default ``("full",)``, as v1).
    ``camera_names``: ``"classic"`` or ``"instrument"`` (see the module docstring).

    rows: normalised photo rows in feed order. rejects: ``{"index", "product_id",
    "sample_type", "filtered", "reason"}``; ``filtered=True`` for items left out by design
    (``"thumbnail filtered"``, ``"duplicate id ..."``), ``filtered=False`` for malformed
    items (``"<Error>: <message>"``). Raises ResponseShapeError without an item list,
    ValueError for an unknown ``camera_names``.
    """
    if camera_names not in ("classic", "instrument"):
        raise ValueError(f"camera_names must be 'classic' or 'instrument', not {camera_names!r}")
    return parse_records(
        items_of(body),
        sample_type_of=_sample_type,
        parse=lambda item: parse_item(item, ingested_at=ingested_at, camera_names=camera_names),
        dedupe_key="photo_id",
        duplicate_reason="duplicate id (the first one is kept)",
        sample_types=sample_types,
        seen=set() if _seen is None else _seen,
    )


def parse_pages(
    bodies: Iterable[Any],
    *,
    ingested_at: dt.datetime,
    sample_types: Collection[str] = FULL_ONLY,
    camera_names: MslCameraNames = "classic",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pages of one query → ``(rows, rejects)``, an id seen on an earlier page rejected
    as ``filtered`` (pages of a changing sol can overlap). Each reject also has ``page``."""
    return parse_page_list(
        bodies,
        lambda body, seen: parse_items(
            body, ingested_at=ingested_at, sample_types=sample_types, camera_names=camera_names, _seen=seen
        ),
    )


def _msl_page(resp: ApiResponse, per_page: int) -> PageView:
    try:
        items = items_of(resp.body)
        more = page_info(resp.body)["more"]
    except ResponseShapeError as exc:
        raise resp.unusable(exc) from None
    if more is None:  # no ``more`` field: a short page ends the sol
        more = len(items) >= per_page
    return PageView(record_ids(items, "id"), last=not more or not items)


@dataclass
class JplMslSource(JplFeedSource):
    """Curiosity raw images: ``{base_url}?order=...&per_page=N&page=P&condition_1=msl:mission``
    ``&condition_2={sol}:sol:in``.

    ``per_page`` 1..1000, default the upstream maximum (fewest requests: a busy sol of
    400-900 items is one request), ``page`` 0-based, paging until ``more`` is false (a page
    with ``more: true`` but no items ends it too). ``max_pages``: safety stop;
    ``repeat_retries``: requests again of a repeating page. ``concurrency`` 4 and no rate by
    default (keyless, no published limit; see :class:`~mars_assets.sources.http.HttpSource`).
    """

    name: ClassVar[str] = SOURCE_NAME
    parse_bodies = staticmethod(parse_pages)
    read_latest_sol = staticmethod(parse_latest_sol)
    rovers: ClassVar[frozenset[str]] = frozenset({ROVER})

    base_url: str = FEED_URL
    per_page: int = MAX_PER_PAGE

    def _params(self, page: int, per_page: int, sol: int | None) -> dict[str, Any]:
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}, not {per_page}")
        params: dict[str, Any] = {"order": ORDER, "per_page": per_page, "page": page, "condition_1": MISSION_CONDITION}
        if sol is not None:
            params["condition_2"] = sol_condition(sol)
        return params

    def fetch_sol(self, rover: str, sol: int) -> list[ApiResponse]:
        """Every page of sol ``sol`` in order. Raises ValueError for a bad ``per_page``,
        RuntimeError past ``max_pages``, ApiError / RateLimitError (a repeating page:
        :func:`mars_assets.sources.http.fetch_pages`)."""
        return self.paged(
            lambda page: self.request(self.base_url, self._params(page, self.per_page, int(sol))),
            lambda resp, _page: _msl_page(resp, self.per_page),
            first=0,
            what=f"{rover} sol {sol}",
        )

    def latest(self) -> ApiResponse:
        """The newest item (``per_page=1&page=0``, ordered by sol desc, no sol condition), verbatim."""
        return self.request(self.base_url, self._params(0, 1, None))
