"""Curiosity (MSL) raw images from JPL's ``raw_image_items`` API: response parsing.

Endpoint (keyless, undocumented; ``shared/docs/NASA_SOURCES.md`` §2)::

    https://mars.nasa.gov/api/v1/raw_image_items/
        ?order=sol desc,instrument_sort asc,sample_type_sort asc, date_taken desc
        &per_page=1000&page=0&condition_1=msl:mission&condition_2={sol}:sol:in

``per_page`` up to 1000 (the default: a busy sol of 400-900 items in one request), ``page``
0-based; page on ``more``. Latest sol: ``per_page=1&page=0`` ordered by sol desc, without
``condition_2``. (``category=msl`` on the RSS feed does not serve Curiosity.)

Response ``{items: [...], more: bool, total: int, page, per_page}``. Item, as recorded
(``mars_assets_tests/fixtures/live_captures/jpl/msl/``, a real sol-86 answer): ``id`` (int),
``imageid``, ``sol``, ``instrument`` (``NAV_LEFT_B``, ``FHAZ_RIGHT_A``, ``MAST_LEFT``,
``CHEMCAM_RMI``, ``MAHLI`` ...), ``url``, ``https_url``, ``date_taken``, ``date_received``,
``site`` / ``drive`` (ints here; null or strings in other answers), ``subframe_rect``
(``"(1,1,1024,1024)"``), ``scale_factor`` (int), ``spacecraft_clock`` (float),
``is_thumbnail``, camera-model fields, and ``extended{sample_type, lmst, mast_az, mast_el,
bucket, url_list, contributor, filter_name}``. Real items have **no** ``extended.dimension``.

Choices (those of the retired Mars Rover Photos API v1 unless said otherwise):

* Sample types (``extended.sample_type``, else top-level ``sample_type``): ``full``,
  ``downsampled``, ``subframe``, ``thumbnail``, ``chemcam prc`` ... v1 kept only ``full``;
  here every sample type but ``thumbnail`` is a row with its ``sample_type`` (a project
  choice: the others are real images v1 threw away). A thumbnail, or an item without a
  sample type, is *filtered* (a reject with ``filtered=True``, ``"thumbnail filtered"``);
  ``sample_types=FULL_ONLY`` gives v1's rows. Only ``full`` rows count against the manifest
  and in gold (:func:`mars_assets.lib.photos.is_full_frame`). ``filtered=False`` rejects
  are malformed items (quarantined with their reason).
* ``img_src`` = ``https_url`` (v1's choice); when it is missing, ``url`` upgraded to https.
  The feed has one URL per item (thumbnails are separate items), so ``img_src_small`` /
  ``img_src_medium`` / ``img_src_full_res`` are None.
* ``photo_id`` = the feed's ``id``; ``product_id`` = ``imageid``.
* ``camera``: ``camera_names="classic"`` (default) maps instruments onto the seven v1
  cameras (``NAV_LEFT_B`` → ``NAVCAM``); ``"instrument"`` keeps the instrument name with
  ``full_name`` = name, as v1 did since late 2024. See :mod:`mars_assets.sources.instruments`.
  Unknown instruments are kept with ``camera_known=False``.
* ``earth_date``: the v1 rule, landing 2012-08-06 + floor(sol × 88775.244 / 86400) days.
* ``date_taken_utc`` ← ``date_taken`` (aware UTC); ``date_taken_mars`` ← ``extended.lmst``.
* ``site`` / ``drive``: an int, an integral float or a string of digits; null, ``""`` or
  ``"UNK"`` (JPL's placeholder for unknown) give None; anything else rejects the item
  (quarantine reason names the field), see :func:`optional_int`.
* ``width`` / ``height`` (pixels of the stored image ``img_src``): ``extended.dimension``
  ``"(w,h)"`` where present, else :func:`stored_size` = ``subframe_rect`` width and height
  ÷ ``scale_factor``; None when either is absent or unknown. ``img_src_width`` /
  ``img_src_height`` are the same (the one URL serves that image).
* ``sclk`` ← ``spacecraft_clock`` (SCLK seconds); ``mast_az`` / ``mast_el`` ← ``extended.mast_az``
  / ``mast_el`` (strings, degrees; top-level ``mast_az`` / ``mast_el`` if ``extended`` lacks
  them). Optional measurements (:func:`~mars_assets.sources.values.optional_float`): ``"UNK"``,
  ``""``, null *and any value that is not a number* give None — they never reject an item (a
  changed type shows in the schema-drift check). The other fields above are not read.

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
    PHOTO_ROW_KEYS,
    JplFeedSource,
    MslCameraNames,
    earth_date_for_sol,
    msl_camera,
    parse_page_list,
    parse_records,
)
from mars_assets.sources.values import (
    INT32_RANGE,
    INT64_RANGE,
    ResponseShapeError,
    decode_body,
    https,
    in_range,
    optional_float,
    parse_dimension,
    parse_utc,
    records_of,
    shown,
    str_or_none,
    strict_int,
    to_int,
    to_sol,
)

SOURCE_NAME = "jpl_msl"
ROVER = "curiosity"
FEED_URL = "https://mars.nasa.gov/api/v1/raw_image_items/"
#: The feed's own ordering (as the raw-image site sends it).
ORDER = "sol desc,instrument_sort asc,sample_type_sort asc, date_taken desc"
MISSION_CONDITION = "msl:mission"
#: The sample types v1 kept (pass as ``sample_types`` for v1's rows only).
FULL_ONLY: tuple[str, ...] = ("full",)
#: Sample types never kept by default (compared lower-case): thumbnails, as v1.
DROPPED_SAMPLE_TYPES: frozenset[str] = frozenset({"thumbnail"})
#: Text JPL's feeds put where a value is unknown (compared stripped, lower-case).
UNKNOWN_TEXT: frozenset[str] = frozenset({"", "unk", "null", "none"})
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


def _unknown(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in UNKNOWN_TEXT)


def optional_int(value: Any, field: str, *, lo: int = INT64_RANGE[0], hi: int = INT64_RANGE[1]) -> int | None:
    """An optional integer field (``site``, ``drive``, ``scale_factor``): ``5`` / ``"5"`` / ``5.0`` → 5.

    None, ``""``, ``"UNK"``, ``"null"`` (:data:`UNKNOWN_TEXT`) → None. Raises ResponseShapeError
    naming ``field`` for anything else (``"12.5"``, ``"abc"``, booleans, outside ``lo..hi``).
    """
    return None if _unknown(value) else strict_int(value, field, lo=lo, hi=hi)


def subframe_rect(value: Any) -> tuple[int, int, int, int] | None:
    """``subframe_rect`` ``"(x,y,w,h)"`` → ``(x, y, w, h)``, full-resolution sensor pixels.

    ``x``, ``y``: 1-based first sample and line; ``w``, ``h``: size of the read-out area
    (``"(1,1,1024,1024)"``: a whole 1024² Navcam frame). A list of four numbers is accepted.
    None / ``""`` / ``"UNK"`` → None. Raises ResponseShapeError for any other shape, a
    negative corner or a width/height below 1.
    """
    if _unknown(value):
        return None
    if isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, str) and value.strip().startswith("(") and value.strip().endswith(")"):
        parts = value.strip()[1:-1].split(",")
    else:
        raise ResponseShapeError(f"subframe_rect {shown(value)} is not '(x,y,w,h)'")
    if len(parts) != 4:
        raise ResponseShapeError(f"subframe_rect {shown(value)} is not '(x,y,w,h)'")
    x, y, w, h = (strict_int(v, "subframe_rect", lo=0, hi=INT32_RANGE[1]) for v in parts)
    if w < 1 or h < 1:
        raise ResponseShapeError(f"subframe_rect {shown(value)} has an empty width or height")
    return x, y, w, h


def stored_size(item: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """``(width, height)`` in pixels of the image an item's URL serves; ``(None, None)`` when unknown.

    * ``extended.dimension`` ``"(w,h)"`` when present (the Perseverance feed's field, not
      seen in real Curiosity items);
    * else ``subframe_rect`` width and height ÷ ``scale_factor``:
      ``"(1,1,1024,1024)"`` at 1 → 1024 × 1024, ``"(1,1,512,512)"`` at 2 → 256 × 256.
      ``subframe_rect`` is in full-resolution pixels and ``scale_factor`` is the on-board
      downsampling (pixel averaging) per axis — JPL's convention in both raw-image feeds:
      every real Perseverance image in ``shared/data/nasa/live_captures/jpl/mars2020`` with
      a numeric ``scaleFactor`` has ``dimension`` = ``subframeRect`` size ÷ ``scaleFactor``
      (e.g. ``(1,1,5120,3840)`` at 4 → ``(1280,960)``, 47 of 47 images).
    * None for both when ``subframe_rect`` or ``scale_factor`` is absent or ``"UNK"`` (the
      Mars 2020 feed shows an unknown scale factor need not mean 1), or when a side is not a
      whole multiple of the factor (no exact stored size).

    Raises ResponseShapeError (message names the field) for a malformed ``dimension``,
    ``subframe_rect`` or a ``scale_factor`` that is not an integer ≥ 1.
    """
    extended = item.get("extended")
    dimension = extended.get("dimension") if isinstance(extended, Mapping) else None
    if not _unknown(dimension):
        try:
            return parse_dimension(dimension)
        except ValueError as exc:
            raise ResponseShapeError(f"extended.dimension: {exc}") from None
    rect = subframe_rect(item.get("subframe_rect"))
    scale = optional_int(item.get("scale_factor"), "scale_factor", lo=1, hi=INT32_RANGE[1])
    if rect is None or scale is None or rect[2] % scale or rect[3] % scale:
        return None, None
    return rect[2] // scale, rect[3] // scale


def parse_item(
    item: Mapping[str, Any], *, ingested_at: dt.datetime, camera_names: MslCameraNames = "classic"
) -> dict[str, Any]:
    """One feed item as a normalised photo row (see the module docstring), whatever its sample_type.

    Raises ValueError/KeyError/TypeError (message names the field) for an item that
    cannot be typed: no id, no sol, no instrument, no https_url/url, bad numbers (``site``,
    ``drive``, ``subframe_rect``, ``scale_factor``, ``extended.dimension``) or dates.
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
    width, height = stored_size(item)
    product_id = str_or_none(item.get("imageid")) or PurePosixPath(img_src.split("?", 1)[0]).name.split(".", 1)[0]
    row = {
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
        "sclk": optional_float(item.get("spacecraft_clock")),
        "site": optional_int(item.get("site"), "site"),
        "drive": optional_int(item.get("drive"), "drive"),
        "mast_az": optional_float(extended.get("mast_az", item.get("mast_az"))),
        "mast_el": optional_float(extended.get("mast_el", item.get("mast_el"))),
        "width": width,
        "height": height,
        # the item's one URL serves the stored image itself: its size is width × height
        "img_src_width": width,
        "img_src_height": height,
        "img_src_small": None,
        "img_src_medium": None,
        "img_src_full_res": None,
        "camera_known": known,
    }
    return {key: row.get(key) for key in PHOTO_ROW_KEYS}


def kept_sample_types(items: Iterable[Any], sample_types: Collection[str] | None) -> set[str]:
    """The sample types (lower case) of ``items`` to keep as rows.

    ``sample_types`` None: every sample type present but :data:`DROPPED_SAMPLE_TYPES`;
    otherwise exactly ``sample_types`` (e.g. :data:`FULL_ONLY`, v1's choice).
    """
    if sample_types is not None:
        return {s.lower() for s in sample_types}
    present = {(_sample_type(i) or "").lower() for i in items if isinstance(i, Mapping)}
    return {s for s in present if s and s not in DROPPED_SAMPLE_TYPES}


def parse_items(
    body: Any,
    *,
    ingested_at: dt.datetime,
    sample_types: Collection[str] | None = None,
    camera_names: MslCameraNames = "classic",
    _seen: set[int] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One response → ``(rows, rejects)``.

    ``body``: the decoded response (``{"items": [...]}`` or a list) or its raw bytes.
    ``sample_types``: kept sample types, lower-case; default None = every one but
    ``thumbnail`` (:func:`kept_sample_types`); :data:`FULL_ONLY` gives v1's rows.
    ``camera_names``: ``"classic"`` or ``"instrument"`` (see the module docstring).

    rows: normalised photo rows in feed order, ``sample_type`` as the feed gives it.
    rejects: ``{"index", "product_id", "sample_type", "filtered", "reason"}``;
    ``filtered=True`` for items left out by design (``"thumbnail filtered"``,
    ``"sample_type missing: filtered"``, ``"duplicate id ..."``), ``filtered=False`` for
    malformed items (``"<Error>: <message>"``, e.g. ``"ResponseShapeError: site 'abc' is
    not an integer"``). Raises ResponseShapeError without an item list, ValueError for an
    unknown ``camera_names``.
    """
    if camera_names not in ("classic", "instrument"):
        raise ValueError(f"camera_names must be 'classic' or 'instrument', not {camera_names!r}")
    items = items_of(body)
    return parse_records(
        items,
        sample_type_of=_sample_type,
        parse=lambda item: parse_item(item, ingested_at=ingested_at, camera_names=camera_names),
        dedupe_key="photo_id",
        duplicate_reason="duplicate id (the first one is kept)",
        sample_types=kept_sample_types(items, sample_types),
        seen=set() if _seen is None else _seen,
    )


def parse_pages(
    bodies: Iterable[Any],
    *,
    ingested_at: dt.datetime,
    sample_types: Collection[str] | None = None,
    camera_names: MslCameraNames = "classic",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pages of one query → ``(rows, rejects)`` as :func:`parse_items` (same ``sample_types``),
    an id seen on an earlier page rejected as ``filtered`` (pages of a changing sol can
    overlap). Each reject also has ``page``."""
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
    records_in = staticmethod(items_of)
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
