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


def test_msl_engineering_camera_name_has_no_sol_and_says_why():
    pid = parse_product_id("mars-raw-utils/NRB_670586006EDR_S0871444NCAM00545M_.jpg")
    assert pid.rover == "curiosity" and pid.camera == "NAVCAM"
    assert pid.sol is None
    assert pid.sclk == 670586006
    assert "spacecraft clock" in pid.reason


def test_unrecognised_name_is_reported_not_raised():
    pid = parse_product_id("holiday_photo.jpg")
    assert (pid.rover, pid.sol, pid.camera) == (None, None, None)
    assert pid.reason == "unrecognised product id form"


def test_unknown_mars2020_instrument_is_kept_and_flagged():
    pid = parse_product_id("QQ0_0100_0675828717_276ECM_N0040218NCAM00503_01_295J.png")
    assert pid.sol == 100 and pid.camera == "QQ"
    assert "unknown Mars 2020 instrument" in pid.reason
