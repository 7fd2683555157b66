"""``bronze/images`` at mission size: concurrent downloads within a per-host limit, resumable runs,
progress metadata, and a failing partition that fails alone — on the loopback replay server, a
real local warehouse and a real Dagster instance."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from mars_assets.defs.bronze.images import bronze_images
from mars_assets.demo import ReplayServer, bundled_snapshot
from mars_assets.demo.mmgis_routes import IMAGES_PREFIX
from mars_assets.lib.progress import Progress
from mars_assets.lib.silver import storage_schema
from mars_assets.partitions import add_sols, range_tags, rover_sol_key, rover_sol_partitions
from mars_assets.resources import ImageDownloader, LandingZone, Warehouse
from mars_assets.resources.downloads import DownloadPool, HostSkipped
from mars_assets.schemas import PHOTO_ROW_KEYS, decode_image_index
from mars_assets.settings import Settings
from mars_assets.sources.http import ApiError
from mars_assets_tests.conftest import free_port, make_small_archive

SOLS = (1, 2, 3)
#: Small MSL browse JPEGs (2.7-3.8 KB), served under new names.
BROWSE = sorted((bundled_snapshot() / "images/msl_deep_mars_browse").glob("*.JPG"), key=lambda p: p.stat().st_size)
ASSET = dg.AssetKey(["bronze", "images"])


def product_id(folder: str, sol: int, n: int) -> str:
    return f"{sol:04d}ML{n:07d}{'A' if folder == 'a' else 'B'}01_DRCL"


def served_archive(tmp_path: Path, per_sol: int) -> Path:
    """A snapshot whose ``images/{a,b}/`` hold ``per_sol`` JPEGs per sol of SOLS (a and b: the
    same files, so two hosts can be told apart in the server's log by the folder)."""
    archive = make_small_archive(tmp_path / "archive", photos=(), images=())
    for folder in ("a", "b"):
        (archive / "images" / folder).mkdir()
        for sol in SOLS:
            for n in range(per_sol):
                src = BROWSE[n % len(BROWSE)]
                shutil.copy(src, archive / "images" / folder / f"{product_id(folder, sol, n)}.JPG")
    return archive


def write_photos(wh: Warehouse, urls: dict[int, list[str]]) -> None:
    """Silver photos of curiosity for each sol of ``urls``: one row per img_src."""
    rows = []
    for sol, sol_urls in urls.items():
        for n, url in enumerate(sol_urls):
            row = dict.fromkeys(PHOTO_ROW_KEYS)
            pid = url.rsplit("/", 1)[1].rsplit(".", 1)[0]
            row.update(photo_id=sol * 1000 + n, rover="curiosity", sol=sol, camera="MAST", img_src=url, product_id=pid)
            rows.append(row)
    table = pa.Table.from_pylist(rows, schema=storage_schema("photos"))
    wh.write_silver_table("photos", table, [("curiosity", s) for s in urls], {"dagster_run_id": "test"})


def urls_of(base: str, folder: str, per_sol: int) -> dict[int, list[str]]:
    return {s: [f"{base}{IMAGES_PREFIX}{folder}/{product_id(folder, s, n)}.JPG" for n in range(per_sol)] for s in SOLS}


def materialize(instance, wh: Warehouse, tmp_path: Path, downloader: ImageDownloader, raise_on_error: bool = True):
    """bronze/images over curiosity sols 1-3 in one run (a backfill's range tags)."""
    keys = dg.PartitionKeyRange(str(rover_sol_key("curiosity", SOLS[0])), str(rover_sol_key("curiosity", SOLS[-1])))
    return dg.materialize(
        [bronze_images],
        instance=instance,
        resources={
            "warehouse": wh,
            "landing": LandingZone(root=str(tmp_path / "landing")),
            "image_downloader": downloader,
        },
        tags=range_tags(keys),
        raise_on_error=raise_on_error,
    )


def image_requests(server: ReplayServer) -> list:
    return [r for r in server.log if r.path.startswith(IMAGES_PREFIX)]


def partition_materializations(instance, run_id: str) -> dict[str, dg.AssetMaterialization]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    mats = [r.event_log_entry.dagster_event.event_specific_data.materialization for r in records]
    return {m.partition: m for m in mats}


@pytest.fixture
def setup(tmp_path):
    """(server, warehouse, instance) with sols 1-3 of curiosity in the sol partitions."""
    with ReplayServer(served_archive(tmp_path, per_sol=6)) as server, dg.instance_for_test() as instance:
        add_sols(instance, SOLS)
        yield server, Warehouse(root=str(tmp_path / "warehouse")), instance


def test_downloads_run_concurrently_within_the_limit_of_each_host_and_report_progress(setup, tmp_path):
    server, wh, instance = setup
    port = server.url.rsplit(":", 1)[1]
    # two hosts (names of the same server), told apart by folder: a via localhost, b via 127.0.0.1
    a, b = urls_of(f"http://localhost:{port}", "a", 6), urls_of(server.url, "b", 6)
    write_photos(wh, {s: [u for pair in zip(a[s], b[s], strict=True) for u in pair] for s in SOLS})
    delay, limit = 0.25, 3
    server.delay_next(delay, count=36, match=IMAGES_PREFIX)
    downloader = ImageDownloader(
        allowed_hosts=["localhost", "127.0.0.1"], max_per_partition=-1, max_concurrent_per_host=limit
    )
    result = materialize(instance, wh, tmp_path, downloader)
    assert result.success and server.pending_faults() == 0
    requests = image_requests(server)
    assert len(requests) == 36 and all(r.status == 200 for r in requests)
    peaks = {}
    for folder in ("a", "b"):
        starts = sorted(r.at for r in requests if r.path.startswith(f"{IMAGES_PREFIX}{folder}/"))
        # every request takes >= delay: limit + 1 starts within one delay would be limit + 1 in flight
        assert all(starts[i + limit] - starts[i] >= delay - 1e-3 for i in range(len(starts) - limit)), folder
        peaks[folder] = max(sum(s <= t < s + delay for s in starts) for t in starts)
    assert peaks == {"a": limit, "b": limit}  # the limit is reached on each host at once
    all_starts = sorted(r.at for r in requests)
    assert max(sum(s <= t < s + delay for s in all_starts) for t in all_starts) == 2 * limit  # per host, not global
    # progress: one line per 10 s and the last, and its figures on the materialization
    mats = result.asset_materializations_for_node("bronze__images")
    assert sorted(m.partition for m in mats) == [f"curiosity|{s}" for s in SOLS]
    meta = {k: v.value for k, v in mats[0].metadata.items()}
    assert meta["stored"] == 36 and meta["downloaded"] == 36 and meta["reused"] == 0 and meta["missing"] == 0
    assert set(Progress("x", 1, log=print, unit="images").metadata()) <= set(meta)  # the progress figures
    assert meta["partitions_done"] == 3 and meta["partitions_failed"] == 0
    assert meta["seconds"] < 36 * delay / 2  # well under serial time
    assert {m.partition: m.metadata["partition_stored"].value for m in mats} == {f"curiosity|{s}": 12 for s in SOLS}
    lines = [e.user_message for e in instance.all_logs(result.run_id) if "bronze/images: 3/3 partitions" in e.message]
    assert lines and "36 images" in lines[-1] and "images/s" in lines[-1]
    index = decode_image_index(wh.read_object("bronze/images/rover=curiosity/sol=2/_index.json"))
    assert [e.uri for e in index] == [u for pair in zip(a[2], b[2], strict=True) for u in pair]  # photo order


def test_a_second_run_reuses_unchanged_images_without_requests_and_fetches_changed_ones(setup, tmp_path):
    server, wh, instance = setup
    write_photos(wh, urls_of(server.url, "a", 6))
    downloader = ImageDownloader(allowed_hosts=["127.0.0.1"], max_per_partition=-1)
    first = materialize(instance, wh, tmp_path, downloader)
    assert len(image_requests(server)) == 18
    before = {s: wh.read_object(f"bronze/images/rover=curiosity/sol={s}/_index.json") for s in SOLS}

    second = materialize(instance, wh, tmp_path, downloader)
    assert len(image_requests(server)) == 18  # no image request at all
    meta = {k: v.value for k, v in second.asset_materializations_for_node("bronze__images")[0].metadata.items()}
    assert (meta["reused"], meta["downloaded"], meta["stored"]) == (18, 0, 18)
    after = {s: wh.read_object(f"bronze/images/rover=curiosity/sol={s}/_index.json") for s in SOLS}
    assert after == before  # the partitions were written whole again, same index

    folder = Path(wh.local_file("bronze/images/rover=curiosity/sol=2"))
    index = decode_image_index(before[2])
    corrupted, deleted = folder / index[0].object, folder / index[1].object
    corrupted.write_bytes(corrupted.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    deleted.unlink()
    third = materialize(instance, wh, tmp_path, downloader)
    refetched = image_requests(server)[18:]
    assert sorted(r.path.rsplit("/", 1)[1].lower() for r in refetched) == sorted(e.object.lower() for e in index[:2])
    meta = {k: v.value for k, v in third.asset_materializations_for_node("bronze__images")[0].metadata.items()}
    assert (meta["reused"], meta["downloaded"], meta["stored"]) == (16, 2, 18)
    for entry in decode_image_index(wh.read_object("bronze/images/rover=curiosity/sol=2/_index.json")):
        assert hashlib.sha256((folder / entry.object).read_bytes()).hexdigest() == entry.sha256
    assert first.success and second.success and third.success


def test_a_partition_that_fails_fails_alone_and_the_others_are_materialized(setup, tmp_path):
    server, wh, instance = setup
    write_photos(wh, urls_of(server.url, "a", 2))
    broken = Path(wh.local_file("bronze/images/rover=curiosity/sol=2"))
    broken.parent.mkdir(parents=True)
    broken.write_text("a file where the partition's folder goes")  # the warehouse cannot write sol 2
    downloader = ImageDownloader(allowed_hosts=["127.0.0.1"], max_per_partition=-1)
    result = materialize(instance, wh, tmp_path, downloader, raise_on_error=False)
    assert not result.success
    keys = [str(rover_sol_key("curiosity", s)) for s in SOLS]
    status = instance.get_status_by_partition(ASSET, keys, rover_sol_partitions)
    assert {k: v.value for k, v in status.items()} == {
        "curiosity|1": "MATERIALIZED",
        "curiosity|2": "FAILED",
        "curiosity|3": "MATERIALIZED",
    }
    mats = partition_materializations(instance, result.run_id)
    assert sorted(mats) == ["curiosity|1", "curiosity|3"]
    assert mats["curiosity|1"].metadata["partition_stored"].value == 2
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data
    assert failure.user_failure_data.description.startswith(
        "bronze/images: 1 of 3 partitions failed: curiosity|2: NotADirectoryError"
    )
    assert list(failure.user_failure_data.metadata["failed_partitions"].value) == ["curiosity|2"]
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)  # no step retry
    for s in (1, 3):
        assert len(decode_image_index(wh.read_object(f"bronze/images/rover=curiosity/sol={s}/_index.json"))) == 2


# -- the pool on its own -----------------------------------------------------------------------
def test_a_host_that_fails_to_connect_is_skipped_for_the_rest_of_the_pool(setup):
    server = setup[0]
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    downloader = ImageDownloader(allowed_hosts=["127.0.0.1"], retries=0, max_concurrent_per_host=1)
    with downloader.pool() as pool:
        first = pool.submit(f"{dead}/images/x.jpg")
        later = [pool.submit(f"{dead}/images/y{n}.jpg") for n in range(3)]
        alive = pool.submit(f"{server.url}{IMAGES_PREFIX}a/{product_id('a', 1, 0)}.JPG")
        with pytest.raises(ApiError) as err:
            first.result()
        assert err.value.status == 0
        for future in later:
            with pytest.raises(HostSkipped, match="host unreachable earlier in this run: HTTP 0"):
                future.result()
        assert alive.result() == BROWSE[0].read_bytes()  # another host (port) is not affected
        assert list(pool.dead_hosts) == [dead.split("//")[1]]


def test_concurrency_below_one_is_refused_and_the_setting_comes_from_the_environment(monkeypatch):
    with pytest.raises(ValueError, match="max_concurrent_per_host must be at least 1"):
        DownloadPool(ImageDownloader(max_concurrent_per_host=0))
    monkeypatch.setenv("MARS_IMAGE_DOWNLOAD_CONCURRENCY", "7")
    settings = Settings.from_env()
    assert settings.image_download_concurrency == 7
    assert Settings().image_download_concurrency == 4
    session = ImageDownloader(max_concurrent_per_host=7).session()
    assert session.get_adapter("https://mars.nasa.gov/")._pool_maxsize == 7  # noqa: SLF001
