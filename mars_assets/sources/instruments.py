"""Reference data and value rules shared by the JPL raw-image adapters.

Used by :mod:`mars_assets.sources.jpl_mars2020` (Perseverance),
:mod:`mars_assets.sources.jpl_ingenuity` (Ingenuity, the same feed) and
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
* Ingenuity: the Mars 2020 feed also serves the helicopter's frames (``category=mars2020,
  ingenuity``). Every instrument named ``HELI_*`` belongs to the vehicle ``ingenuity``
  (:func:`m2020_vehicle`), the others to ``perseverance``. Its cameras are ``HELI_NAV``
  ("Navigation Camera") and ``HELI_RTE`` ("Color Camera"): the names and labels of the
  feed's own camera list (the ``nav`` block of the raw-images website's answer, recorded in
  ``mars_assets_tests/fixtures/live_captures/jpl/mars2020/other/``). The v1 API never
  served Ingenuity, so for it "known" means "in the feed's camera list". Its sols are
  Perseverance's mission sols (it landed with the rover on 2021-02-18, sol 0).
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
import math
from abc import abstractmethod
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from mars_assets.sources.base import ParsedPages, PhotoSource
from mars_assets.sources.drift import Drift, check_pages
from mars_assets.sources.http import ApiResponse, PagedSource
from mars_assets.sources.values import ResponseShapeError, str_or_none

#: Landing dates (UTC calendar day) of the rovers with JPL raw-image feeds (NASA_SOURCES §1).
LANDING_DATES: dict[str, dt.date] = {
    "perseverance": dt.date(2021, 2, 18),
    # landed under Perseverance's belly: its sols are Perseverance's mission sols
    "ingenuity": dt.date(2021, 2, 18),
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
    "sclk",
    "site",
    "drive",
    "mast_az",
    "mast_el",
    "width",
    "height",
    "img_src_width",
    "img_src_height",
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

#: Ingenuity: feed instrument → (camera, full name), the labels of the feed's own camera list.
INGENUITY_CAMERAS: dict[str, tuple[str, str]] = {
    "HELI_NAV": ("HELI_NAV", "Navigation Camera"),
    "HELI_RTE": ("HELI_RTE", "Color Camera"),
}
#: Instruments whose name starts with this are Ingenuity's (:func:`m2020_vehicle`).
INGENUITY_PREFIX = "HELI_"

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

#: The JPL feeds' placeholder for an unknown value (``"UNK"`` in Mars 2020 ``camera.*``, ``extended.*``).
UNKNOWN = "UNK"
#: The source of each vehicle of the Mars 2020 feed (the ``source`` column of its rows).
VEHICLE_SOURCES: dict[str, str] = {"perseverance": "jpl_mars2020", "ingenuity": "jpl_ingenuity"}


def known(value: Any) -> Any:
    """``value``, or None for the feeds' unknown placeholder ``"UNK"`` (any case, around spaces)."""
    if isinstance(value, str) and value.strip().upper() == UNKNOWN:
        return None
    return value


def m2020_vehicle(instrument: Any) -> str:
    """The vehicle of a Mars 2020 feed instrument: ``"ingenuity"`` for ``HELI_*`` (any case),
    else ``"perseverance"``. Raises ValueError for an empty instrument."""
    return "ingenuity" if _instrument(instrument).upper().startswith(INGENUITY_PREFIX) else "perseverance"


def m2020_camera(instrument: Any) -> tuple[str, str | None, bool]:
    """Mars 2020 feed instrument (Perseverance or Ingenuity) → ``(camera, camera_full_name, camera_known)``.

    Matching is case-insensitive (:data:`M2020_CAMERAS`, then :data:`INGENUITY_CAMERAS`); an
    unknown instrument gives ``(instrument, None, False)``. Raises ValueError for an empty
    instrument.
    """
    name = _instrument(instrument)
    hit = M2020_CAMERAS.get(name.upper()) or INGENUITY_CAMERAS.get(name.upper())
    return (hit[0], hit[1], True) if hit else (name, None, False)


def served_elsewhere(vehicle: str) -> Callable[[Mapping[str, Any]], str | None]:
    """For the parse of ``vehicle``'s Mars 2020 answers (the ``elsewhere`` of
    :func:`parse_records`): the filter reason of an image of the other vehicle (``"ingenuity
    frame filtered (HELI_NAV, served by jpl_ingenuity)"``); None for an image of ``vehicle``
    or one without an instrument (its parse rejects it)."""

    def reason(obj: Mapping[str, Any]) -> str | None:
        camera = obj.get("camera")
        instrument = str_or_none(known(camera.get("instrument"))) if isinstance(camera, Mapping) else None
        if instrument is None or (other := m2020_vehicle(instrument)) == vehicle:
            return None
        return f"{other} frame filtered ({instrument}, served by {VEHICLE_SOURCES[other]})"

    return reason


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


def parse_records(
    records: Iterable[Any],
    *,
    sample_type_of: Callable[[Mapping[str, Any]], str | None],
    parse: Callable[[Any], dict[str, Any]],
    dedupe_key: str,
    duplicate_reason: str,
    sample_types: Collection[str],
    seen: set[Hashable],
    elsewhere: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The shared loop of the JPL feed parsers: records → ``(rows, rejects)``.

    A record whose sample type (``sample_type_of``) is not in ``sample_types`` (lower case)
    is a ``filtered`` reject; so is one for which ``elsewhere(record)`` returns a reason (a
    record another source serves, e.g. an Ingenuity frame in a Perseverance answer);
    ``parse`` raising KeyError/TypeError/ValueError gives a malformed reject
    (``"<Error>: <message>"``); a row whose ``dedupe_key`` is already in ``seen`` is a
    ``filtered`` reject with ``duplicate_reason``. Rejects:
    ``{"index", "product_id", "sample_type", "filtered", "reason"}``. ``seen`` is updated.
    """
    keep = {s.lower() for s in sample_types}
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        is_obj = isinstance(rec, Mapping)
        st = sample_type_of(rec) if is_obj else None
        row, reason, filtered = None, None, True
        if is_obj and (st or "").lower() not in keep:
            reason = f"{st.lower()} filtered" if st else "sample_type missing: filtered"
        elif is_obj and elsewhere is not None and (away := elsewhere(rec)):
            reason = away
        else:
            try:
                row = parse(rec)
            except (KeyError, TypeError, ValueError) as exc:
                reason, filtered = f"{type(exc).__name__}: {exc}", False
            else:
                if row[dedupe_key] in seen:
                    reason = duplicate_reason
        if reason is not None:
            pid = str_or_none(rec.get("imageid")) if is_obj else None
            rejects.append({"index": i, "product_id": pid, "sample_type": st, "filtered": filtered, "reason": reason})
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


def feed_result(rows: list[dict[str, Any]], rejects: list[dict[str, Any]], source: str) -> ParsedPages:
    """A JPL feed parser's ``(rows, rejects)`` as :class:`~mars_assets.sources.base.ParsedPages`:
    ``filtered`` rejects are counted, the others kept for quarantine (raw = the reject itself)."""
    kept = [r for r in rejects if not r.get("filtered")]
    return ParsedPages(
        rows=rows,
        rejects=[{"record_key": r.get("product_id"), "origin": source, "reason": r["reason"], "raw": r} for r in kept],
        filtered=len(rejects) - len(kept),
    )


class JplFeedSource(PagedSource, PhotoSource):
    """What the two JPL raw-image adapters share: parsing their pages, reading their latest sol.

    A subclass sets ``parse_bodies`` (the feed's ``parse_pages``), ``read_latest_sol`` (its
    ``parse_latest_sol``) and implements ``latest()`` (the one-request newest-image query).
    """

    parse_bodies: ClassVar[Callable[..., tuple[list, list]]]
    read_latest_sol: ClassVar[Callable[[Any], int]]
    #: The record list of one body (the feed's ``images_of`` / ``items_of``), for the drift check.
    records_in: ClassVar[Callable[[Any], list]]

    @classmethod
    def parse_pages(cls, bodies: Sequence[tuple[str, Any]], *, ingested_at: dt.datetime) -> ParsedPages:
        """Feed pages → full-frame rows; thumbnails and repeats are counted, malformed records
        rejected; ``drift``: the records' fields against the feed's (:meth:`drift_of`)."""
        rows, rejects = cls.parse_bodies([body for _name, body in bodies], ingested_at=ingested_at)
        out = feed_result(rows, rejects, cls.name)
        out.drift = cls.drift_of(bodies)
        return out

    @classmethod
    def drift_of(cls, bodies: Sequence[tuple[str, Any]]) -> Drift | None:
        """Schema drift of the records of ``(name, body)`` pages (:func:`mars_assets.sources.drift.check_pages`)."""
        return check_pages(cls.name, (cls.records_in(body) for _name, body in bodies))

    @abstractmethod
    def latest(self) -> ApiResponse:
        """The feed's one-request answer that names its newest sol, verbatim."""

    def latest_sol(self, rover: str | None = None) -> int:
        """The newest sol of the feed. Raises ApiError when the answer has none (or on HTTP errors)."""
        resp = self.latest()
        try:
            return type(self).read_latest_sol(resp.body)
        except ResponseShapeError as exc:
            raise resp.unusable(exc) from None
