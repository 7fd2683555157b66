"""silver_images' batching: batches that span partitions, one batch in flight on real worker
processes, give exactly the rows of a one-image-at-a-time serial run, partition by partition."""

import hashlib
import json

from mars_assets.demo import bundled_snapshot
from mars_assets.imaging import ImageFile
from mars_assets.lib.image_batches import IMAGE_BATCH, ImageBatcher
from mars_assets.resources import Warehouse
from mars_assets.resources.compute import ImageStatsCompute

BROWSE = sorted((bundled_snapshot() / "images/msl_deep_mars_browse").glob("*.JPG"))


def _bronze(wh: Warehouse, sol: int, blobs: list[bytes], missing: int = 0, sha256: bool = False) -> None:
    objects, index = {}, []
    for i, data in enumerate(blobs):
        name = f"img_{sol}_{i}.jpg"
        objects[name] = data
        index.append(
            {
                "object": name,
                "product_id": f"P{sol}_{i}",
                "camera": "MAHLI",
                "source": "landing",
                "uri": f"landing/{name}",
                "status": "stored",
                "reason": None,
                **({"sha256": hashlib.sha256(data).hexdigest()} if sha256 else {}),
            }
        )
    for i in range(missing):
        index.append(
            {
                "object": None,
                "product_id": f"M{sol}_{i}",
                "camera": "MAHLI",
                "source": "download",
                "uri": f"https://mars.nasa.gov/x/{i}.jpg",
                "status": "missing",
                "reason": "HTTP 404",
            }
        )
    objects["_index.json"] = json.dumps(index).encode()
    wh.write_objects(f"bronze/images/rover=curiosity/sol={sol}", objects)


def image_tables(wh: Warehouse, partitions, submit, batch_images: int = IMAGE_BATCH) -> list[tuple]:
    """``(rover, sol, images, image_stats, quarantine)`` of each partition, as silver_images writes them."""
    batcher = ImageBatcher(wh, submit, batch_images=batch_images)
    return [(p.rover, p.sol, p.images, p.stats, p.bad) for p in batcher.run(partitions)]


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "ingested_at"} for r in rows]


def test_batches_across_partitions_on_processes_equal_serial_rows(tmp_path):
    wh = Warehouse(root=str(tmp_path))
    blobs = [p.read_bytes() for p in BROWSE[:9]]
    layout = {1: blobs[:2], 2: [], 3: blobs[2:7] + [b"<html>not an image</html>"], 4: blobs[7:9]}
    for sol, bl in layout.items():
        _bronze(wh, sol, bl, missing=1 if sol == 2 else 0)
    partitions = [("curiosity", s) for s in layout]

    with ImageStatsCompute(workers=1).session() as submit:
        serial = list(image_tables(wh, partitions, submit, batch_images=1))
    with ImageStatsCompute(workers=2, min_parallel_bytes=0).session() as submit:
        batched = list(image_tables(wh, partitions, submit, batch_images=3))

    assert [(r, s) for r, s, *_ in batched] == partitions  # every partition once, in order
    for (r1, s1, images1, stats1, bad1), (r2, s2, images2, stats2, bad2) in zip(serial, batched, strict=False):
        assert (r1, s1) == (r2, s2)
        assert _strip(images1) == _strip(images2) and stats1 == stats2
        assert [b["reason"] for b in bad1] == [b["reason"] for b in bad2]
    # this bronze index has no sha256 (written before bronze recorded it): silver hashes the bytes
    by_name = {f"img_{sol}_{i}.jpg": d for sol, bl in layout.items() for i, d in enumerate(bl)}
    assert all(
        im["sha256"] == hashlib.sha256(by_name[im["image_id"]]).hexdigest()
        for *_, images, _st, _b in batched
        for im in images
    )
    counts = {s: (len(i), len(st), len(b)) for _r, s, i, st, b in batched}
    assert counts == {1: (2, 2, 0), 2: (0, 0, 1), 3: (5, 5, 1), 4: (2, 2, 0)}
    assert batched[2][4][0]["reason"].startswith("undecodable")


def test_local_bronze_images_go_to_the_workers_as_files(tmp_path):
    """With the SHA-256 in the bronze index (as bronze_images writes it) a local warehouse hands
    each image over as an ImageFile, so the run process never reads or pickles its bytes; the
    rows are those computed from the bytes."""
    wh = Warehouse(root=str(tmp_path))
    blobs = [p.read_bytes() for p in BROWSE[:5]] + [b"<html>not an image</html>"]
    _bronze(wh, 1, blobs[:3], sha256=True)
    _bronze(wh, 2, blobs[3:], sha256=True)
    _bronze(wh, 3, blobs[:2])  # an index from before bronze hashed its images: bytes, hashed here
    partitions = [("curiosity", s) for s in (1, 2, 3)]
    handed = []

    with ImageStatsCompute(workers=2, min_parallel_bytes=0).session() as submit:

        def recording(items):
            handed.extend(items)
            return submit(items)

        out = list(image_tables(wh, partitions, recording, batch_images=4))
    with ImageStatsCompute(workers=1).session() as submit:
        expected = list(
            image_tables(
                wh, partitions, lambda items: submit([i.read() if isinstance(i, ImageFile) else i for i in items])
            )
        )

    assert [type(i) for i in handed] == [ImageFile] * 6 + [bytes] * 2
    assert [len(i) for i in handed] == [len(b) for b in blobs] + [len(b) for b in blobs[:2]]
    assert all(i.path.startswith(str(tmp_path)) for i in handed[:6])
    for got, want in zip(out, expected, strict=False):
        assert got[:2] == want[:2] and _strip(got[2]) == _strip(want[2]) and got[3] == want[3]
        assert [b["reason"] for b in got[4]] == [b["reason"] for b in want[4]]
    assert [im["bytes"] for im in out[0][2]] == [len(b) for b in blobs[:3]]
    assert [im["sha256"] for *_, images, _s, _b in out for im in images] == [
        hashlib.sha256(b).hexdigest() for b in blobs[:5] + blobs[:2]
    ]
    bad = out[1][4][0]
    assert bad["reason"].startswith("undecodable") and json.loads(bad["raw"])["bytes"] == len(blobs[5])


def test_s3_warehouse_has_no_local_files():
    assert Warehouse(root="s3://bucket/prefix").local_file("bronze/x.jpg") is None
    assert Warehouse(root="/data/wh").local_file("bronze/x.jpg") == "/data/wh/bronze/x.jpg"
