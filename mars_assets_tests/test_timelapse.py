"""Timelapses (mars_assets.imaging.timelapse): frame selection, the animated WebP written
from real rover frames of the bundled snapshot and read back with Pillow, the HTML page."""

from __future__ import annotations

import datetime as dt
import html.parser
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from mars_assets.imaging.decode import ImageDecodeError
from mars_assets.imaging.timelapse import (
    POINTING_TOLERANCE_DEG,
    select_frames,
    timelapse_page,
    write_mp4,
    write_webp,
)

SNAPSHOT_IMAGES = Path(__file__).resolve().parents[1] / "mars_assets" / "snapshot" / "images"
BROWSE = SNAPSHOT_IMAGES / "msl_deep_mars_browse"
#: Curiosity Mastcam left browse frames: 256 x 256 colour, 256 x 191 colour, 256 x 168 gray.
FRAMES = [
    BROWSE / "0003ML0000000110100031E01_DRCL.JPG",
    BROWSE / "0017ML0000510010100248C00_DRCL.JPG",
    BROWSE / "0013ML0000120130100182D01_DRCL.JPG",
    BROWSE / "0050ML0002300290102177E01_DRCL.JPG",
    BROWSE / "0078ML0005760730102738E01_DRCL.JPG",
]
NAVCAM = SNAPSHOT_IMAGES / "mars-raw-utils" / "NRB_670586006EDR_S0871444NCAM00545M_.jpg"
MASTCAM_Z = SNAPSHOT_IMAGES / "mars-raw-utils" / "ZL0_0038_0670307360_057ECM_N0031392ZCAM08007_1100LUJ.png"


def read_back(data: bytes) -> tuple[Image.Image, list[np.ndarray], list[int]]:
    img = Image.open(io.BytesIO(data))
    frames, durations = [], []
    for frame in ImageSequence.Iterator(img):
        frames.append(np.asarray(frame.convert("RGB")).astype(np.int16))
        durations.append(frame.info["duration"])
    return img, frames, durations


def test_webp_of_real_frames_plays_every_frame_at_one_size():
    data, info = write_webp([p.read_bytes() for p in FRAMES], width=320, fps=5)
    img, frames, durations = read_back(data)
    assert img.format == "WEBP" and img.is_animated
    assert img.n_frames == len(FRAMES) == info["frames"]
    assert img.size == (320, 320) == (info["width"], info["height"])  # the first frame is square
    assert info["bytes"] == len(data)
    assert img.info["loop"] == 0
    assert durations == [200] * len(FRAMES)
    for a, b in zip(frames, frames[1:], strict=False):
        assert np.abs(a - b).mean() > 5  # consecutive frames are different pictures
    # a wider frame after a square one is letterboxed: black bars above and below
    second = frames[1]
    assert second[:20].max() < 40 and second[150:170].mean() > 40


def test_webp_follows_the_first_frame_aspect_and_decodes_large_frames_small():
    data, info = write_webp([MASTCAM_Z.read_bytes(), NAVCAM.read_bytes(), FRAMES[0].read_bytes()])
    assert (info["width"], info["height"]) == (512, 372)  # 1648 x 1200 -> 512 x 372.8, even
    img, frames, _ = read_back(data)
    assert img.n_frames == 3 and img.size == (512, 372)
    assert np.abs(frames[0] - frames[1]).mean() > 5


def test_webp_rejects_no_frames_bad_parameters_and_undecodable_frames():
    with pytest.raises(ValueError):
        write_webp([])
    with pytest.raises(ValueError):
        write_webp([FRAMES[0].read_bytes()], fps=0)
    with pytest.raises(ValueError):
        write_webp([FRAMES[0].read_bytes()], width=1)
    with pytest.raises(ImageDecodeError):
        write_webp([FRAMES[0].read_bytes(), b"not an image"])


@pytest.mark.skipif(
    importlib.util.find_spec("imageio_ffmpeg") is None, reason="imageio-ffmpeg (optional) not installed"
)
def test_mp4_of_real_frames_when_ffmpeg_is_installed(tmp_path):
    import imageio.v2 as imageio

    out = write_mp4([p.read_bytes() for p in FRAMES], width=300, fps=5)
    assert out is not None
    data, info = out
    assert data[4:8] == b"ftyp" and info["bytes"] == len(data)
    assert (info["frames"], info["width"], info["height"]) == (len(FRAMES), 304, 304)
    path = tmp_path / "t.mp4"
    path.write_bytes(data)
    reader = imageio.get_reader(path)
    try:
        assert reader.count_frames() == len(FRAMES)
        assert tuple(reader.get_meta_data()["size"]) == (304, 304)
    finally:
        reader.close()


def test_mp4_is_none_without_ffmpeg():
    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        pytest.skip("imageio-ffmpeg is installed")
    assert write_mp4([FRAMES[0].read_bytes()]) is None


def frame(image_id, sol, taken_at=None, flags=(), duplicate_of=None, az=None, el=None) -> dict:
    return {
        "image_id": image_id,
        "sol": sol,
        "taken_at": taken_at,
        "flags": list(flags),
        "duplicate_of": duplicate_of,
        "mast_az": az,
        "mast_el": el,
    }


def ids(frames) -> list[str]:
    return [f["image_id"] for f in frames]


def test_frames_are_ordered_by_sol_time_and_id():
    t = dt.datetime(2013, 1, 1, 12, 0, tzinfo=dt.UTC)
    frames = [
        frame("d", 2, "2013-01-02T10:00:00Z"),
        frame("c", 1, None),  # no time: last of its sol
        frame("b", 1, t + dt.timedelta(minutes=5)),
        frame("a", 1, "2013-01-01T12:00:00"),  # naive ISO string: UTC
        frame("a2", 1, t),  # same instant as "a": by id
        frame("e", 0, dt.datetime(2013, 1, 1, 23, 0)),  # naive datetime
    ]
    assert ids(select_frames(frames)) == ["e", "a", "a2", "b", "c", "d"]


def test_flagged_frames_are_dropped():
    frames = [frame(str(i), i, flags=[f]) for i, f in enumerate(("black", "blank", "saturated", "truncated"))]
    frames += [frame("lo", 10, flags=["low_information"]), frame("sm", 11, flags=["small_frame"])]
    frames += [frame("ok", 12), frame("ok2", 13, flags=[])]
    assert ids(select_frames(frames)) == ["ok", "ok2"]


def test_only_the_first_frame_of_a_duplicate_group_is_kept():
    frames = [
        frame("x9", 9, duplicate_of="x1"),
        frame("x1", 3, duplicate_of="x1"),  # the group key is not necessarily the first frame
        frame("x0", 2, duplicate_of="x1"),
        frame("y", 4),
        frame("z5", 5, duplicate_of="z5"),
        frame("z6", 6, duplicate_of="z5", flags=["blank"]),
    ]
    assert ids(select_frames(frames)) == ["x0", "y", "z5"]
    # a flagged first frame does not hide the rest of its group
    frames = [frame("a", 1, duplicate_of="a", flags=["black"]), frame("b", 2, duplicate_of="a")]
    assert ids(select_frames(frames)) == ["b"]


def test_frames_pointing_away_from_the_usual_pointing_are_dropped():
    tol = POINTING_TOLERANCE_DEG
    frames = [
        frame("n1", 1, az=359.0, el=-10.0),
        frame("n2", 2, az=1.0, el=-10.5),  # across north from n1
        frame("n3", 3, az=0.5, el=-9.0),
        frame("n4", 4, az=358.5 + 0.1, el=-10.0),
        frame("far_az", 5, az=40.0, el=-10.0),
        frame("far_el", 6, az=0.0, el=-10.0 - tol - 0.5),
        frame("unknown", 7),  # no pointing: kept
        frame("edge", 8, az=0.0 + tol, el=-10.0),
    ]
    assert ids(select_frames(frames)) == ["n1", "n2", "n3", "n4", "unknown", "edge"]
    assert ids(select_frames(frames, tolerance_deg=90)) == ids(frames)


def test_a_mispointed_first_copy_does_not_hide_a_good_copy_of_its_group():
    frames = [frame(f"g{i}", i, az=10.0, el=5.0) for i in range(3)]
    frames += [frame("c1", 5, duplicate_of="c1", az=60.0, el=5.0), frame("c2", 6, duplicate_of="c1", az=10.5, el=5.0)]
    assert ids(select_frames(frames)) == ["g0", "g1", "g2", "c2"]


def test_repeated_copies_count_once_for_the_reference_pointing():
    frames = [frame(f"g{i}", i, az=10.0, el=5.0) for i in range(3)]
    frames += [frame(f"r{i}", 10 + i, duplicate_of="r0", az=80.0, el=5.0) for i in range(6)]
    assert ids(select_frames(frames)) == ["g0", "g1", "g2"]


def test_pointing_is_taken_from_frames_that_survive_the_flags():
    frames = [frame(f"bad{i}", i, flags=["black"], az=180.0, el=0.0) for i in range(5)]
    frames += [frame("g1", 10, az=90.0, el=0.0), frame("g2", 11, az=91.0, el=1.0)]
    assert ids(select_frames(frames)) == ["g1", "g2"]


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_page_lists_timelapses_with_escaped_values_and_relative_images():
    entries = [
        {
            "rover": "curiosity",
            "camera": "MAST_LEFT",
            "frames": 1234,
            "first_sol": 3,
            "last_sol": 954,
            "bytes": 2_500_000,
            "path": "curiosity/MAST LEFT.webp",
        },
        {
            "rover": "<script>alert(1)</script>",
            "camera": 'NAV"CAM',
            "frames": 2,
            "first_sol": 1,
            "last_sol": 2,
            "bytes": 9000,
            "path": "p/x.webp",
        },
    ]
    page = timelapse_page(entries)
    assert "<script" not in page and "&lt;script&gt;" in page
    parser = _Tags()
    parser.feed(page)
    imgs = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert [a["src"] for a in imgs] == ["curiosity/MAST%20LEFT.webp", "p/x.webp"]
    assert not any(tag in ("script", "link", "iframe") for tag, _ in parser.tags)
    text = " ".join(parser.text)
    assert "1,234 frames" in text and "sols 3–954" in text and "2.5 MB" in text and "9 kB" in text
    assert 'NAV"CAM' in text
    assert "No timelapses" in timelapse_page([])


def test_page_refuses_absolute_or_remote_image_paths():
    entry = {"rover": "r", "camera": "c", "frames": 1, "first_sol": 0, "last_sol": 0, "bytes": 1}
    for path in ("/etc/x.webp", "https://example.org/x.webp", "javascript:alert(1)", "//host/x.webp"):
        with pytest.raises(ValueError):
            timelapse_page([{**entry, "path": path}])
