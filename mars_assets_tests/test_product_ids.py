import pytest

from mars_assets.sources.product_ids import parse_product_id


@pytest.mark.parametrize(
    ("name", "rover", "sol", "camera"),
    [
        ("0050ML0002300290102177E01_DRCL.JPG", "curiosity", 50, "MAST"),
        ("0954MH0004930040304152I01_DRCL.JPG", "curiosity", 954, "MAHLI"),
        ("0003MR0000000100100002E01_DRCL.JPG", "curiosity", 3, "MAST"),
        ("NLF_0670_0726421423_362ECM_N0320604NCAM08111_01_095J01.png", "perseverance", 670, "NAVCAM_LEFT"),
        ("NRF_0731_0731848568_991ECM_N0361610NCAM12731_04_195J01.png", "perseverance", 731, "NAVCAM_RIGHT"),
        ("ZL0_0038_0670307360_057ECM_N0031392ZCAM08007_1100LUJ.png", "perseverance", 38, "MCZ_LEFT"),
        (
            "https://mars.nasa.gov/mars2020-raw-images/pub/ods/surface/sol/00000/ids/edr/browse/fcam/"
            "FLF_0000_0666952774_431ECM_N0010052AUT_04096_00_2I3J01_1200.jpg",
            "perseverance",
            0,
            "FRONT_HAZCAM_LEFT_A",
        ),
    ],
)
def test_product_id_gives_rover_sol_camera(name, rover, sol, camera):
    pid = parse_product_id(name)
    assert (pid.rover, pid.sol, pid.camera) == (rover, sol, camera)
    assert pid.reason is None
    assert "." not in pid.product_id


@pytest.mark.parametrize(
    ("name", "rover", "sol", "camera", "sclk"),
    [  # real v1 img_src names and their v1 sol (the bundled snapshot's api/photos)
        ("mars-raw-utils/NRB_670586006EDR_S0871444NCAM00545M_.jpg", "curiosity", 3076, "NAVCAM", 670586006),
        ("FRA_397502305EDR_D0010000AUT_04096M_.JPG", "curiosity", 0, "FHAZ", 397502305),
        ("RLB_486265291EDR_F0481570RHAZ00323M_.JPG", "curiosity", 1000, "RHAZ", 486265291),
        ("CR0_486264264EDR_F0481570CCAM02000M_.JPG", "curiosity", 1000, "CHEMCAM", 486264264),
        (
            "http://mars.nasa.gov/mer/gallery/all/2/f/001/2F126468064EDN0000P1001L0M1-BR.JPG",
            "spirit",
            1,
            "FHAZ",
            126468064,
        ),
        ("2E126462398EDN0000F0006N0M1-BR.JPG", "spirit", 1, "ENTRY", 126462398),
        ("1N128285132EDN0000P1500L0M1-BR.JPG", "opportunity", 1, "NAVCAM", 128285132),
        ("1P128287181EFF0000P2303L2M1-BR.JPG", "opportunity", 1, "PANCAM", 128287181),
    ],
)
def test_clock_only_names_get_the_sol_of_their_clock(name, rover, sol, camera, sclk):
    pid = parse_product_id(name)
    assert (pid.rover, pid.sol, pid.camera, pid.sclk) == (rover, sol, camera, sclk)
    assert pid.sol_source == "clock" and pid.reason is None


def test_mer_name_fields():
    pid = parse_product_id("2N292280938EFFB100P0703L0M1")  # rover 2 (Spirit), Navcam, clock, ..., eye L
    assert (pid.rover, pid.camera, pid.instrument, pid.sclk, pid.sol_source) == (
        "spirit",
        "NAVCAM",
        "NL",
        292280938,
        "clock",
    )
    assert parse_product_id("1M128285132EDN0000P1500L0M1").camera == "MI"  # Microscopic Imager: no v1 camera


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("NLB_100000000EDR_F0000000NCAM00000M_.JPG", "before the landing sol 0"),  # 2003: before landing
        ("NLB_999999999EDR_F0000000NCAM00000M_.JPG", "after today's sol"),  # 2031: in the future
        ("2N400000000EFF0000P0703L0M1.JPG", "after the mission's last sol 2210"),  # 2012: Spirit was silent
        ("1N100000000EFF0000P0703L0M1.JPG", "before the landing sol 1"),
    ],
)
def test_clock_outside_the_mission_has_no_sol_and_says_why(name, why):
    pid = parse_product_id(name)
    assert pid.rover is not None and pid.sclk is not None
    assert pid.sol is None and pid.sol_source is None
    assert pid.reason.startswith("spacecraft clock out of range") and why in pid.reason


def test_sol_source_of_names_that_carry_the_sol():
    assert parse_product_id("0050ML0002300290102177E01_DRCL.JPG").sol_source == "name"
    assert parse_product_id("NLF_0670_0726421423_362ECM_N0320604NCAM08111_01_095J01.png").sol_source == "name"
    assert parse_product_id("holiday_photo.jpg").sol_source is None


def test_landing_zone_routes_clock_only_files_to_their_sol_and_leaves_bad_clocks(tmp_path):
    from mars_assets.defs.bronze.images import _route_landing
    from mars_assets.resources import LandingZone

    names = {
        "2F126468064EDN0000P1001L0M1-BR.JPG": ("spirit", 1),
        "1R128285184EDN0000P1002L0M1-BR.JPG": ("opportunity", 1),
        "NRB_486272784EDR_F0481570NCAM00415M_.JPG": ("curiosity", 1000),
        "NLB_999999999EDR_F0000000NCAM00000M_.JPG": None,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"\xff\xd8")
    routed = _route_landing(LandingZone(root=str(tmp_path)))
    assert {k: [p for p, _ in v] for k, v in routed.items()} == {
        key: [name] for name, key in names.items() if key is not None
    }


def test_unrecognised_name_is_reported_not_raised():
    pid = parse_product_id("holiday_photo.jpg")
    assert (pid.rover, pid.sol, pid.camera) == (None, None, None)
    assert pid.reason == "unrecognised product id form"


def test_unknown_mars2020_instrument_is_kept_and_flagged():
    pid = parse_product_id("QQ0_0100_0675828717_276ECM_N0040218NCAM00503_01_295J.png")
    assert pid.sol == 100 and pid.camera == "QQ"
    assert "unknown Mars 2020 instrument" in pid.reason


def test_landing_sensor_requests_the_sols_of_clock_only_files(tmp_path):
    import dagster as dg

    from mars_assets.defs.automation import sensors
    from mars_assets.resources import LandingZone
    from mars_assets.resources.automation import AutomationLimits

    for name in (
        "2F126468064EDN0000P1001L0M1-BR.JPG",  # Spirit sol 1 (v1)
        "NRB_486272784EDR_F0481570NCAM00415M_.JPG",  # Curiosity sol 1000 (v1)
        "NLB_100000000EDR_F0000000NCAM00000M_.JPG",  # before landing: no partition
    ):
        (tmp_path / name).write_bytes(b"\xff\xd8")
    resources = {"landing": LandingZone(root=str(tmp_path)), "automation": AutomationLimits()}
    with dg.instance_for_test() as instance:
        result = sensors.landing_zone_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    added = sorted(k for r in result.dynamic_partitions_requests for k in r.partition_keys)
    ranges = sorted(
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in result.run_requests
    )
    assert added == ["1", "1000"]
    assert ranges == [("curiosity|1000", "curiosity|1000"), ("spirit|1", "spirit|1")]
