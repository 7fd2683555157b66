"""A SYNTHETIC mission-size snapshot, derived from the recorded NASA pages, for benchmarks and tests.

:func:`write_mission` writes a folder in the layout :class:`mars_assets.demo.snapshot.Snapshot`
reads (``api/photos/{rover}_sol{NNNN}.json``, ``api/manifests/{rover}_manifest_{date}.json``,
``api/rovers_{date}.json``, the bundled ``traverse/`` waypoint layers; no images) and a
``SYNTHETIC.md`` saying what it is. Nothing in it was observed for those sols: every
synthetic sol is photos of one recorded Photos API v1 sol of the bundled snapshot
(``mars_assets/snapshot/api/photos/``, real NASA data, see its ``PROVENANCE.md``; image
credit NASA/JPL-Caltech, Mastcam/MAHLI NASA/JPL-Caltech/MSSS), for Curiosity sol 1000
(856 photos), given:

* **photo ids** ``100_000_000 + sol × 10_000 + k`` (``k``: the photo's place in the sol's
  paging order), above every real v1 id, unique across sols;
* **sol and earth_date**: the new sol and ``landing_date + floor(sol × 88775.244 / 86400)``
  days, the v1 rule checked by ``dbt/tests/assert_photo_earth_date_follows_sol.sql``
  (computed in integers: ``sol × 88775244 // 86400000``);
* **img_src** (the silver ``product_id`` is its file name) rewritten for the new sol so that
  :func:`mars_assets.sources.product_ids.parse_product_id` still reads it: the zero-padded
  sol folders of the URL, the four-digit sol of MSSS (``1000MR...``) and Mars 2020
  (``NLF_0670_...``) names, and the spacecraft clock of names that carry one (MSL
  engineering cameras and ChemCam, MER, Mars 2020) shifted by ``round(Δsol × 88775.244)``
  seconds; a template photo used twice in one sol (``photos_per_sol`` above the recorded
  count) gets ``-R1``, ``-R2``... after the name on its later uses;
* **the embedded rover object**: the recorded long form with ``max_sol``, ``max_date`` and
  ``total_photos`` of the synthetic mission.

Each sol's file holds its photos in the API's paging order (camera id, then photo id), so
the replay server can answer a whole sol with the file's bytes. The manifest lists every
synthetic sol with exactly the count and cameras served (``gold.photo_gaps`` is VALID for
each ingested sol); the rovers listing holds the one rover. A **broken sol** is written as
an HTML error page (not JSON) under the sol's usual file name: the replay server answers it
with HTTP 200 ``text/html``, as an upstream behind a failing proxy would, and
:class:`mars_assets.sources.photos_api.PhotosApiSource` refuses it with ApiError
("unusable response body: not JSON"); the manifest still lists the sol with its photos, so
``gold.photo_gaps`` shows it MISSING_SOL. To repair it, call :func:`write_mission` again with
the same arguments and without the sol (the output is deterministic, files are replaced
atomically, so a running server serves either the old or the new file).

Pure: no Dagster import. The 2,000 full-size sols (1.5 M photos) are 1.2 GB, written in 9-17 s on 2 cores.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from mars_assets.demo.snapshot import bundled_snapshot

#: The recorded v1 sol each rover's synthetic sols are made from (in the bundled snapshot).
TEMPLATE_SOLS = {"curiosity": 1000, "perseverance": 0, "spirit": 1, "opportunity": 1}
#: First synthetic photo id; ids are ``ID_BASE + sol * SOL_ID_SPAN + k``.
ID_BASE = 100_000_000
SOL_ID_SPAN = 10_000
#: Seconds per sol as the v1 API's earth_date rule has it: 88775.244 = 88775244 / 1000.
SOL_MILLISECONDS = 88_775_244
#: Full-size sols vary deterministically in ``[0.7, 1.05] ×`` the recorded count
#: (Curiosity: 599-899 photos, mean ~749, so 2,000 sols ≈ 1.5 M photos).
FULL_SIZE_RANGE = (0.70, 1.05)

_MSSS = re.compile(r"^\d{4}(?=M[LRHD]\d)")  # MSL Mastcam/MAHLI/MARDI: sol first
_M2020 = re.compile(r"^([A-Z][A-Z0-9]{2}_)(\d{4})(_)(\d{10})")  # NLF_0670_0726421423_...
_SCLK = re.compile(r"^([A-Z][A-Z0-9]{2}_|\d[A-Z])(\d{9})")  # NLB_486272784EDR..., CR0_4862..., 2N126467960...


@dataclass(frozen=True)
class MissionInfo:
    """What :func:`write_mission` wrote.

    ``photos_per_sol``: photos of each sol as the manifest lists them (what the sol serves,
    or would serve once repaired, for a broken sol); ``photos``: their sum over ``sols``;
    ``cameras_per_sol``: sorted camera names of each sol; ``broken_sols``: sols written as an
    HTML error page. ``served_photos``: photos of the sols that are not broken.
    """

    folder: Path
    rover: str
    sols: list[int]
    photos: int
    photos_per_sol: dict[int, int]
    cameras_per_sol: dict[int, list[str]] = field(default_factory=dict)
    broken_sols: tuple[int, ...] = ()
    template_sol: int = 0
    seed: int = 0

    @property
    def served_photos(self) -> int:
        return self.photos - sum(self.photos_per_sol[s] for s in self.broken_sols)


def earth_date_of_sol(landing_date: date, sol: int) -> date:
    """``landing_date + floor(sol × 88775.244 / 86400)`` days (the Photos API v1 rule), exactly."""
    return landing_date + timedelta(days=sol * SOL_MILLISECONDS // 86_400_000)


def broken_page(rover: str, sol: int) -> bytes:
    """The body of a broken sol: an HTML error page (not JSON), saying it is synthetic."""
    return (
        "<!doctype html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
        f"<p>synthetic broken sol: {rover} sol {sol} (mars_assets.demo.synthetic)</p></body></html>\n"
    ).encode()


class _Template:
    """One recorded sol, pre-serialized: per photo its camera JSON, camera id/name and img_src pattern."""

    def __init__(self, rover: str, sol: int, photos: list[dict[str, Any]]):
        if not photos:
            raise ValueError(f"recorded {rover} sol {sol} has no photos to build synthetic sols from")
        self.rover, self.sol = rover, sol
        self.rover_obj = dict(photos[0]["rover"])
        self.landing = date.fromisoformat(self.rover_obj["landing_date"])
        self.camera_json = [json.dumps(p["camera"], separators=(",", ":")) for p in photos]
        self.camera_id = [int(p["camera"]["id"]) for p in photos]
        self.camera_name = [p["camera"]["name"] for p in photos]
        self.photo_id = [int(p["id"]) for p in photos]
        self.src = [self._pattern(p["img_src"]) for p in photos]

    def _pattern(self, url: str) -> tuple[str, str, int, int, str, str]:
        """img_src as (head with ``{s5}``/``{s3}`` sol folders, name prefix with ``{s4}``, clock,
        clock digits, rest of the name, extension with its dot): the URL is ``head + prefix +
        clock + rest + ext`` (no clock when it is -1)."""
        if any(c in url for c in '"\\{}') or any(ord(c) < 0x20 for c in url):
            raise ValueError(f"img_src {url!r} needs escaping; not supported as a template")
        head, _, name = url.rpartition("/")
        head = (head + "/").replace(f"/{self.sol:05d}/", "/{s5}/").replace(f"/{self.sol:03d}/", "/{s3}/")
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        if m := _M2020.match(stem):
            return head, m[1] + "{s4}" + m[3], int(m[4]), 10, stem[m.end() :], dot + ext
        if m := _SCLK.match(stem):
            return head, m[1], int(m[2]), 9, stem[m.end() :], dot + ext
        if _MSSS.match(stem):
            return head, "{s4}", -1, 0, stem[4:], dot + ext
        return head, "", -1, 0, stem, dot + ext

    def sources(self, sol: int) -> list[tuple[str, str]]:
        """img_src of every recorded photo made for ``sol``, as (URL up to the extension, extension)."""
        s = {"s5": f"{sol:05d}", "s4": f"{sol:04d}", "s3": f"{sol:03d}"}
        shift = round((sol - self.sol) * SOL_MILLISECONDS / 1000)
        cache: dict[str, str] = {}
        out = []
        for head, prefix, clock, digits, rest, ext in self.src:
            for x in (head, prefix):
                if x not in cache:
                    cache[x] = x.format(**s)
            tick = f"{min(max(clock + shift, 0), 10**digits - 1):0{digits}d}" if clock >= 0 else ""
            out.append((cache[head] + cache[prefix] + tick + rest, ext))
        return out


def _load_template(rover: str, template_sol: int | None) -> _Template:
    sol = TEMPLATE_SOLS.get(rover) if template_sol is None else template_sol
    if sol is None:
        raise ValueError(f"no recorded v1 sol to make {rover!r} sols from; give template_sol")
    path = bundled_snapshot() / "api" / "photos" / f"{rover}_sol{sol:04d}.json"
    if not path.is_file():
        raise ValueError(f"no recorded v1 page {path.name} in the bundled snapshot")
    return _Template(rover, sol, json.loads(path.read_text())["photos"])


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_mission(
    out: Path,
    *,
    rover: str = "curiosity",
    sols: int,
    photos_per_sol: int | None = None,
    start_sol: int = 0,
    broken_sols: Sequence[int] = (),
    seed: int = 0,
    template_sol: int | None = None,
) -> MissionInfo:
    """Write ``sols`` synthetic sols ``start_sol ..`` of ``rover`` into the snapshot folder ``out``.

    ``photos_per_sol``: photos in every sol (1 ≤ n < 10,000), or None for full size (varying
    per sol in ``FULL_SIZE_RANGE`` × the recorded count). Which photos a sol takes (a random sample
    of the recorded sol; all of it, then repeats, past its size) and, at full size, how many,
    depend only on ``seed`` and the sol, so a larger mission holds the smaller one's sols
    unchanged. ``broken_sols`` (within the range) are written as an HTML error page.
    ``template_sol``: the recorded sol to copy (default :data:`TEMPLATE_SOLS`). Files of
    ``rover`` from an earlier call that this one does not write are removed. Raises
    ValueError for arguments out of range or a rover without a recorded sol.
    """
    if sols < 1 or start_sol < 0 or start_sol + sols > SOL_ID_SPAN:
        raise ValueError(f"sols {start_sol}..{start_sol + sols - 1} out of range 0..{SOL_ID_SPAN - 1}")
    if photos_per_sol is not None and not 1 <= photos_per_sol < SOL_ID_SPAN:
        raise ValueError(f"photos_per_sol {photos_per_sol} out of range 1..{SOL_ID_SPAN - 1}")
    sol_list = list(range(start_sol, start_sol + sols))
    broken = tuple(sorted(set(broken_sols)))
    if outside := [s for s in broken if s not in range(start_sol, start_sol + sols)]:
        raise ValueError(f"broken sols {outside} are not among the sols written")
    t = _load_template(rover.lower(), template_sol)
    rover = t.rover
    out = Path(out)
    photos_dir, manifests_dir = out / "api" / "photos", out / "api" / "manifests"
    photos_dir.mkdir(parents=True, exist_ok=True)
    manifests_dir.mkdir(parents=True, exist_ok=True)

    size = len(t.photo_id)
    lo, hi = (max(1, round(f * size)) for f in FULL_SIZE_RANGE)

    def draw(sol: int) -> tuple[int, random.Random]:
        rng = random.Random(f"mars_assets.synthetic:{seed}:{rover}:{sol}")
        n = rng.randint(lo, min(hi, SOL_ID_SPAN - 1))
        return (n if photos_per_sol is None else photos_per_sol), rng

    counts = {sol: draw(sol)[0] for sol in sol_list}
    total = sum(counts.values())
    last = sol_list[-1]
    rover_obj = {
        **t.rover_obj,
        "max_sol": last,
        "max_date": earth_date_of_sol(t.landing, last).isoformat(),
        "total_photos": total,
    }
    rover_json = json.dumps(rover_obj, separators=(",", ":"))

    written: set[str] = set()
    manifest_sols, per_sol, cameras = [], {}, {}
    for sol in sol_list:
        n, rng = draw(sol)
        # a sample of the recorded photos (all of them, then again as repeat 1, 2... past its
        # size) as (camera id, recorded id, repeat, index): sorted, the paging order of the sol
        picks = []
        for rep in range(-(-n // size)):
            m = min(size, n - rep * size)
            picks += [(t.camera_id[j], t.photo_id[j], rep, j) for j in rng.sample(range(size), m)]
        picks.sort()
        day = earth_date_of_sol(t.landing, sol).isoformat()
        names = sorted({t.camera_name[j] for *_, j in picks})
        per_sol[sol], cameras[sol] = n, names
        manifest_sols.append({"sol": sol, "earth_date": day, "total_photos": n, "cameras": names})
        name = f"{rover}_sol{sol:04d}.json"
        if sol in broken:
            body = broken_page(rover, sol)
        else:
            base = ID_BASE + sol * SOL_ID_SPAN
            src = t.sources(sol)
            body = (
                '{"photos":['
                + ",".join(
                    f'{{"id":{base + k},"sol":{sol},"camera":{t.camera_json[j]},'
                    f'"img_src":"{src[j][0]}{f"-R{rep}" if rep else ""}{src[j][1]}",'
                    f'"earth_date":"{day}","rover":{rover_json}}}'
                    for k, (_cid, _pid, rep, j) in enumerate(picks)
                )
                + "]}"
            ).encode()
        _write_atomic(photos_dir / name, body)
        written.add(name)

    max_date = rover_obj["max_date"]
    manifest = {"photo_manifest": {k: v for k, v in rover_obj.items() if k not in ("id", "cameras")}}
    manifest["photo_manifest"]["photos"] = manifest_sols
    manifest_name = f"{rover}_manifest_{max_date}.json"
    _write_atomic(manifests_dir / manifest_name, json.dumps(manifest, separators=(",", ":")).encode())
    rovers_name = f"rovers_{max_date}.json"
    _write_atomic(out / "api" / rovers_name, json.dumps({"rovers": [rover_obj]}, indent=1).encode())
    # what an earlier call left and this one did not write
    for stale in photos_dir.glob(f"{rover}_sol*.json"):
        if stale.name not in written:
            stale.unlink()
    for stale in manifests_dir.glob(f"{rover}_manifest_*.json"):
        if stale.name != manifest_name:
            stale.unlink()
    for stale in (out / "api").glob("rovers_*.json"):
        if stale.name != rovers_name:
            stale.unlink()
    _copy_traverse(out)
    info = MissionInfo(out, rover, sol_list, total, per_sol, cameras, broken, t.sol, seed)
    (out / "SYNTHETIC.md").write_text(_readme(info, photos_per_sol))
    return info


def _copy_traverse(out: Path) -> None:
    """The bundled MMGIS waypoint layers (real NASA data, unchanged), so the MMGIS routes answer."""
    src = bundled_snapshot() / "traverse"
    (out / "traverse").mkdir(exist_ok=True)
    for f in src.glob("*_waypoints*.geojson"):
        dst = out / "traverse" / f.name
        if not dst.exists() or dst.stat().st_size != f.stat().st_size:
            shutil.copyfile(f, dst)


def _readme(info: MissionInfo, photos_per_sol: int | None) -> str:
    size = f"{photos_per_sol} photos a sol" if photos_per_sol else "full size (varying per sol)"
    return (
        "# SYNTHETIC mission snapshot (not observed data)\n\n"
        f"Written by `mars_assets.demo.synthetic.write_mission` (seed {info.seed}): {info.rover} sols "
        f"{info.sols[0]}-{info.sols[-1]}, {size}, {info.photos} photos in the manifest; broken sols "
        f"(served as an HTML error page): {list(info.broken_sols) or 'none'}.\n\n"
        f"Every sol is photos of the recorded Photos API v1 page of {info.rover} sol {info.template_sol} "
        "(`mars_assets/snapshot/api/photos/`, real NASA data, see its PROVENANCE.md) with new photo ids "
        "(from 100,000,000), the new sol, its earth_date and rewritten img_src; see the module docstring "
        "for the rules. `traverse/` holds the bundled MMGIS waypoint layers unchanged.\n\n"
        "Image and data credit: NASA/JPL-Caltech (Mastcam, MAHLI: NASA/JPL-Caltech/MSSS).\n"
    )
