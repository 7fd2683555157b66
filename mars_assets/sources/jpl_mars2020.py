"""Perseverance (Mars 2020) raw images from JPL's RSS-API feed: response parsing.

Feed (keyless, undocumented; ``shared/docs/NASA_SOURCES.md`` §2)::

    https://mars.nasa.gov/rss/api/?feed=raw_images&category=mars2020&feedtype=json
        &sol=N                         every image of sol N, one response (slow: ~20 s)
        &latest=true                   {latest_sol, latest_sols, new_count, sol_count, total, ...}
        &num=N&page=P&order=sol+desc   list mode, P 0-based; with &sol=N pages one big sol
        &id=IMAGEID                    one image (an image's ``json_link``): the bare image object

Answers as recorded (real, ``mars_assets_tests/fixtures/live_captures/jpl/mars2020/``):
``{images: [...], per_page: "100" (a string), page, total_results, total_images, type:
"mars2020_ingenuity-images-list-1.2", mission: "mars2020,ingenuity"}`` (the website's list
answers add ``nav``, its camera list); an empty sol ``{images: [], total_results: 0,
error_message: "No more images.", ...}``; ``&id=`` the image object alone. Image:
``imageid`` (e.g. ``NLF_0100_0675828717_276ECM_N0040218NCAM00503_01_295J``), ``sol``,
``site`` (int), ``drive`` (string), ``sample_type`` ("Full"/"Thumbnail"/...),
``date_taken_utc`` (``2023-08-08T00:02:03.332``: milliseconds, no ``Z``), ``date_taken_mars``
("Sol-00876M17:10:50.437"), ``camera{instrument, filter_name, ...}``, ``extended{dimension:
"(w,h)", subframeRect, scaleFactor, sclk, mastAz, mastEl, xyz}`` (numbers as strings),
``attitude``, ``image_files{small (320 px), medium (800 px), large (1200 px), full_res (PNG)}``.

Choices (those of the retired Mars Rover Photos API v1 unless said otherwise):

* ``"UNK"``: the feed's placeholder for an unknown value (seen in ``camera.*``,
  ``extended.mastAz/mastEl/sclk/xyz/scaleFactor``, ``attitude``). Every field read here
  takes it (any case) as null (:func:`~mars_assets.sources.instruments.known`): a null
  column, never a number parse error nor the text ``UNK`` in a typed column.
* Vehicles: the feed serves Perseverance and Ingenuity (instruments ``HELI_*``,
  :func:`~mars_assets.sources.instruments.m2020_vehicle`). A row's ``rover`` is its vehicle;
  each source keeps its own: in Perseverance's answers an Ingenuity frame is *filtered*
  (reason ``"ingenuity frame filtered (HELI_NAV, served by jpl_ingenuity)"``), and
  :mod:`mars_assets.sources.jpl_ingenuity` does the reverse, so a frame is never lost nor
  counted for both.
* Only full frames: an image whose ``sample_type`` is not ``Full`` (case-insensitive) is
  *filtered*: it becomes a reject with ``filtered=True`` and reason ``"thumbnail filtered"``
  (``"<sample type> filtered"``), not a row. Rejects with ``filtered=False`` are malformed
  images for quarantine.
* ``img_src`` = ``image_files.large`` (https), as v1; an image without it is a reject.
  ``img_src_small`` / ``img_src_medium`` / ``img_src_full_res`` keep the other sizes.
* ``sclk`` ← ``extended.sclk`` (SCLK seconds, number text), ``mast_az`` / ``mast_el`` ←
  ``extended.mastAz`` / ``mastEl`` (degrees): optional measurements, null for ``"UNK"`` and for
  any value that is not a number (:func:`~mars_assets.sources.values.optional_float`), never a
  reject (a changed type shows in the schema-drift check, :mod:`mars_assets.sources.drift`).
* Sizes, two of them: ``width`` / ``height`` are ``extended.dimension``, which is the size of
  ``full_res`` (real: ``subframeRect (1,1,5120,3840)`` at ``scaleFactor 4`` gives ``(1280,960)``).
  ``img_src_width`` / ``img_src_height`` are the size of ``img_src`` (``large``), which the
  feed does not state: :func:`large_size` derives it, full_res scaled to fit 1200 px wide.
* ``photo_id``: the feed has no numeric id, so it is :func:`stable_photo_id` (SHA-256 of the
  ``imageid``; collisions negligible at ~10^6 images). It is *not* the v1 id of the photo
  (v1 had serial ids): match a photo seen through both sources on ``product_id``.
* ``camera``: the instrument name, which is the v1 camera name (``instruments.m2020_camera``);
  unknown instruments are kept with ``camera_known=False``. ``earth_date``:
  the v1 rule, landing 2021-02-18 + floor(sol × 88775.244 / 86400) days. Number strings are
  parsed (``drive`` "218" → 218); ``date_taken_utc`` is an aware UTC datetime.
* Answers: ``type`` is not checked (one value seen so far; a new one must not fail a sol); a ``mission``
  naming neither ``mars2020`` nor ``ingenuity`` is a wrong feed (ResponseShapeError), as is an
  answer without images whose ``error_message`` is not ``"No more images."`` (an empty sol).
* Fallback answers: asked for a sol without images, the feed may answer with images of
  another sol. When every image of a sol's answers belongs to another sol, the sol is empty:
  :meth:`JplMars2020Source.parse_sol` returns no rows, counts the images as filtered and
  says why in ``notes`` (:func:`fallback_note`), instead of quarantining every row.

Rows have exactly the keys :data:`mars_assets.sources.instruments.PHOTO_ROW_KEYS`.
Everything here is pure: decoded JSON (or the raw body bytes) in, plain dicts out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mars_assets.sources.base import ParsedPages
from mars_assets.sources.http import ApiResponse, PageView, record_ids
from mars_assets.sources.instruments import (
    VEHICLE_SOURCES,
    JplFeedSource,
    earth_date_for_sol,
    known,
    m2020_camera,
    m2020_vehicle,
    parse_page_list,
    parse_records,
    served_elsewhere,
)
from mars_assets.sources.values import (
    ResponseShapeError,
    decode_body,
    https,
    in_range,
    optional_float,
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
#: ``error_message`` of the feed's answer for a sol (or page) without images.
NO_MORE_IMAGES = "No more images."
#: Missions an answer of this feed may name (``mission`` is a comma list: "mars2020,ingenuity").
FEED_MISSIONS = frozenset({"mars2020", "ingenuity"})
#: Widest ``image_files.large`` (the ``_1200.jpg`` variant), pixels.
LARGE_MAX_WIDTH = 1200


def large_size(width: int | None, height: int | None) -> tuple[int | None, int | None]:
    """Size in pixels of ``image_files.large`` (the stored ``img_src``) from the ``full_res`` size.

    The feed states only full_res's size (``extended.dimension``); ``large`` is the JPEG
    variant at most 1200 px wide (its name ends ``_1200.jpg``). Derived here, not measured:
    the aspect ratio is kept, the height rounded to the nearest pixel (half up), and an image
    at most 1200 px wide is taken as not enlarged (take it as ±1 %: full_res PNGs of Navcam
    measured elsewhere are 1288 × 968 where such frames state ``(1280,960)``). ``(1280, 960)`` → ``(1200, 900)``,
    ``(2048, 2048)`` → ``(1200, 1200)``, ``(1056, 1024)`` → ``(1056, 1024)``; None when
    either side is unknown (or the width is 0).
    """
    if width is None or height is None or width <= 0:
        return None, None
    if width <= LARGE_MAX_WIDTH:
        return width, height
    return LARGE_MAX_WIDTH, (height * LARGE_MAX_WIDTH + width // 2) // width


def stable_photo_id(imageid: str) -> int:
    """A stable signed int64 for an ``imageid``: the first 8 bytes of its SHA-256, big-endian, signed."""
    digest = hashlib.sha256(str(imageid).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def check_wrapper(body: Mapping[str, Any]) -> None:
    """Raise ResponseShapeError when an answer's ``mission`` names neither ``mars2020`` nor
    ``ingenuity`` (absent: accepted). ``type`` is not checked: any value is accepted."""
    mission = str_or_none(body.get("mission"))
    if mission is not None and not {m.strip().lower() for m in mission.split(",")} & FEED_MISSIONS:
        raise ResponseShapeError(f"answer of mission {mission!r}, not of the Mars 2020 feed")


def images_of(body: Any) -> list[Any]:
    """The image list of an answer: ``{"images": [...]}``, a bare list of images, or one bare
    image object (the answer of an image's ``json_link``) as a one-item list.

    ``body`` may be bytes/str (parsed as JSON). An empty list with ``error_message: "No more
    images."`` is an empty sol. Raises ResponseShapeError for anything else: no image list,
    a wrong ``mission`` (:func:`check_wrapper`), an ``error_message`` other than that one
    without images.
    """
    body = decode_body(body)
    if isinstance(body, Mapping):
        check_wrapper(body)
        error = str_or_none(body.get("error_message"))
        if "images" not in body:
            if "imageid" in body:
                return [body]
            if error:
                raise ResponseShapeError(f"mars2020 feed error: {error[:120]!r}")
        images = records_of(body, "images", "mars2020 feed response")
        if not images and error and error != NO_MORE_IMAGES:
            raise ResponseShapeError(f"mars2020 feed error: {error[:120]!r}")
        return images
    return records_of(body, "images", "mars2020 feed response")


def page_info(body: Any) -> dict[str, int | None]:
    """``per_page`` (served as a string), ``page``, ``total_results`` of a list-mode answer as ints
    (None when absent). Raises ResponseShapeError for a body that is not a JSON object."""
    body = decode_body(body)
    if not isinstance(body, Mapping):
        raise ResponseShapeError("mars2020 feed response is not an object")
    try:
        return {k: to_int(known(body.get(k))) for k in ("per_page", "page", "total_results")}
    except ValueError as exc:
        raise ResponseShapeError(f"bad paging field: {exc}") from None


def parse_latest_sol(body: Any) -> int:
    """``latest_sol`` of a ``latest=true`` answer (int or digits); ResponseShapeError when missing."""
    body = decode_body(body)
    value = body.get("latest_sol") if isinstance(body, Mapping) else None
    try:
        sol = to_int(known(value))
    except ValueError:
        sol = None
    if sol is None:
        raise ResponseShapeError(f"latest response has no integer 'latest_sol' (got {value!r})")
    return sol


def _object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key) or {}
    if not isinstance(value, Mapping):
        raise TypeError(f"'{key}' is not an object")
    return value


def parse_image(obj: Mapping[str, Any], *, ingested_at: dt.datetime) -> dict[str, Any]:
    """One feed image as a normalised photo row (see the module docstring), whatever its
    sample_type; ``rover`` is its vehicle (``ingenuity`` for ``HELI_*``, else ``perseverance``).

    Raises ValueError/KeyError/TypeError (with a message naming the field) for an image
    that cannot be typed: no imageid, no sol, no instrument, no ``image_files.large``,
    a non-integer site/drive, a malformed dimension or date. ``"UNK"`` reads as absent.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"image is {type(obj).__name__}, not an object")
    imageid = str_or_none(known(obj.get("imageid")))
    if imageid is None:
        raise ValueError("image has no imageid")
    sol = to_sol(known(obj.get("sol")))
    if sol is None:
        raise ValueError("image has no sol")
    instrument = known(_object(obj, "camera").get("instrument"))
    camera, full_name, camera_known = m2020_camera(instrument)
    rover = m2020_vehicle(instrument)
    files = _object(obj, "image_files")
    img_src = https(known(files.get("large")))
    if img_src is None:
        raise ValueError("image has no image_files.large (the v1 img_src)")
    extended = _object(obj, "extended")
    width, height = parse_dimension(known(extended.get("dimension")))
    img_src_width, img_src_height = large_size(width, height)
    return {
        "photo_id": stable_photo_id(imageid),
        "rover": rover,
        "sol": sol,
        "earth_date": earth_date_for_sol(rover, sol),
        "camera": camera,
        "camera_id": None,
        "camera_full_name": full_name,
        "img_src": img_src,
        "product_id": imageid,
        "source": VEHICLE_SOURCES[rover],
        "ingested_at": ingested_at,
        "sample_type": str_or_none(known(obj.get("sample_type"))),
        "date_taken_utc": parse_utc(known(obj.get("date_taken_utc"))),
        "date_taken_mars": str_or_none(known(obj.get("date_taken_mars"))),
        "sclk": optional_float(extended.get("sclk")),
        "site": in_range(to_int(known(obj.get("site"))), "site"),
        "drive": in_range(to_int(known(obj.get("drive"))), "drive"),
        "mast_az": optional_float(extended.get("mastAz")),
        "mast_el": optional_float(extended.get("mastEl")),
        "width": width,
        "height": height,
        "img_src_width": img_src_width,
        "img_src_height": img_src_height,
        "img_src_small": https(known(files.get("small"))),
        "img_src_medium": https(known(files.get("medium"))),
        "img_src_full_res": https(known(files.get("full_res"))),
        "camera_known": camera_known,
    }


def parse_images(
    body: Any,
    *,
    ingested_at: dt.datetime,
    sample_types: Collection[str] = FULL_ONLY,
    vehicle: str = ROVER,
    _seen: set[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One feed response → ``(rows, rejects)`` of ``vehicle`` (``perseverance`` or ``ingenuity``).

    ``body``: the decoded response (``{"images": [...]}``, a list, or one bare image) or its
    raw bytes. ``sample_types``: kept ``sample_type`` values, lower-case (default
    ``("full",)``, as v1).

    rows: normalised photo rows (keys :data:`~mars_assets.sources.instruments.PHOTO_ROW_KEYS`),
    in feed order. rejects: ``{"index", "product_id", "sample_type", "filtered", "reason"}``
    — ``index`` is the position in the response's image list; ``filtered=True`` for images
    left out by design (``"thumbnail filtered"``, ``"duplicate product_id ..."``, a frame of
    the other vehicle), ``filtered=False`` for malformed images (reason ``"<Error>: <message>"``).
    Raises ResponseShapeError when the body has no image list (:func:`images_of`).
    """
    return parse_records(
        images_of(body),
        sample_type_of=lambda obj: str_or_none(known(obj.get("sample_type"))),
        parse=lambda obj: parse_image(obj, ingested_at=ingested_at),
        dedupe_key="product_id",
        duplicate_reason="duplicate product_id (the first one is kept)",
        sample_types=sample_types,
        seen=set() if _seen is None else _seen,
        elsewhere=served_elsewhere(vehicle),
    )


def parse_pages(
    bodies: Iterable[Any],
    *,
    ingested_at: dt.datetime,
    sample_types: Collection[str] = FULL_ONLY,
    vehicle: str = ROVER,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pages of one sol → ``(rows, rejects)`` as :func:`parse_images`; each reject also has
    ``page`` (0-based); an imageid of an earlier page is a ``filtered`` duplicate."""
    return parse_page_list(
        bodies,
        lambda body, seen: parse_images(
            body, ingested_at=ingested_at, sample_types=sample_types, vehicle=vehicle, _seen=seen
        ),
    )


def fallback_note(bodies: Iterable[Any], sol: int) -> tuple[int, str] | None:
    """``(images, why)`` when the answers for ``sol`` hold images and every one of them has
    another (valid) sol: the feed's fallback for a sol without images, so the sol is empty.

    None otherwise: no images, an image of ``sol``, or an image whose sol is missing or not
    a sol (that answer is read normally, its bad images quarantined). Raises
    ResponseShapeError for a body :func:`images_of` cannot read.
    """
    others: list[int] = []
    for body in bodies:
        for image in images_of(body):
            try:
                other = to_sol(known(image.get("sol"))) if isinstance(image, Mapping) else None
            except ValueError:
                return None
            if other is None or other == int(sol):
                return None
            others.append(other)
    if not others:
        return None
    shown = sorted(set(others))
    listed = ", ".join(map(str, shown[:5])) + (" ..." if len(shown) > 5 else "")
    return len(others), (
        f"the answer for sol {sol} holds only images of sol {listed} ({len(others)} images): "
        "the feed's fallback for a sol without images, read as an empty sol"
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
    safety stop; ``repeat_retries``: requests again of a repeating page. Rows are
    Perseverance's only (Ingenuity frames are filtered: :class:`~mars_assets.sources.
    jpl_ingenuity.JplIngenuitySource` reads them).
    """

    name: ClassVar[str] = SOURCE_NAME
    parse_bodies = staticmethod(parse_pages)
    read_latest_sol = staticmethod(parse_latest_sol)
    records_in = staticmethod(images_of)
    rovers: ClassVar[frozenset[str]] = frozenset({ROVER})
    #: The query parameters of every request (before the per-call ones).
    feed_params: ClassVar[dict[str, str]] = FEED_PARAMS

    base_url: str = FEED_URL
    page_size: int = 0

    @classmethod
    def parse_sol(
        cls, rover: str, sol: int, bodies: Sequence[tuple[str, Any]], *, ingested_at: dt.datetime
    ) -> ParsedPages:
        """A partition's pages → rows, or no rows when they are a fallback answer (every image
        of another sol: :func:`fallback_note`; its images are counted as filtered and ``notes``
        says why; their fields still go through the drift check). Raises ResponseShapeError for
        a body without an image list."""
        fallback = fallback_note([body for _name, body in bodies], sol)
        if fallback is not None:
            images, why = fallback
            return ParsedPages(filtered=images, notes=[f"{rover}: {why}"], drift=cls.drift_of(bodies))
        return cls.parse_pages(bodies, ingested_at=ingested_at)

    def get(self, **params: Any) -> ApiResponse:
        """GET the feed with ``feed_params`` plus ``params``. Raises ApiError / RateLimitError."""
        return self.request(self.base_url, {**self.feed_params, **params})

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
