{{ config(location=gold_location(this.name)) }}
-- Every camera of every rover (and Ingenuity) with its category: engineering, science or
-- entry-descent-landing. One row per rover x camera name as silver photos spells it (the v1
-- names, the Curiosity instrument names the v1 API served from late 2024, the JPL feed names).
-- Sources of the categories (the basis column names the one each row follows):
--   * Perseverance: the groups of the JPL raw-images website ("Engineering Cameras", "Science
--     Cameras", "Entry, Descent and Landing Cameras"; mars.nasa.gov/mars2020/multimedia/raw-images,
--     the feed's nav block recorded in mars_assets_tests/fixtures/live_captures/jpl/mars2020/other/
--     list_page0_supercam_rmi_saketh.json); NASA's camera page (9 engineering, 7 science, 7 EDL
--     cameras: mars.nasa.gov/mars2020/spacecraft/rover/cameras) for CACHECAM and PIXL_MCC, which that
--     nav block does not list; Maki et al. 2020, Space Sci. Rev. 216:137 (the 9 surface engineering
--     cameras incl. Cachecam, the 7 EDL cameras incl. LCAM).
--   * Ingenuity: the raw-images group "Mars Helicopter Tech Demo Cameras" (same nav block): the
--     flight navigation camera and the colour context camera of a technology demonstration, no
--     science payload, so engineering.
--   * Curiosity: NASA's camera page (mars.nasa.gov/msl/spacecraft/rover/cameras: engineering
--     Hazcams and Navcams; science Mastcam, ChemCam RMI, MAHLI, MARDI); Maki et al. 2012, Space Sci.
--     Rev. 170:77-93 (the engineering cameras). MARDI, the Mars Descent Imager (Malin et al. 2017,
--     Earth Space Sci. 4:506-539), is put in entry-descent-landing by the role it was built for (on
--     sol 0 it took 3,684 of the 3,702 v1 photos), as the martian-moments seed did; NASA lists it
--     with the science cameras, and its later surface frames count as entry-descent-landing too.
--   * Spirit and Opportunity: Maki et al. 2003, JGR 108(E12):8071 (MER engineering cameras: Navcam,
--     Hazcams and the EDL descent camera, v1 name ENTRY); Squyres et al. 2003, JGR 108(E12):8062
--     (the Athena science payload: Pancam, Mini-TES, Microscopic Imager). The seed had PANCAM as
--     engineering: Pancam is an Athena science instrument.
-- A camera missing here is kept in gold as 'uncategorized' and named by the WARN test
-- assert_every_photo_camera_has_a_category.
select rover, camera, category, basis
from (values
    ('curiosity', 'CHEMCAM', 'science', 'NASA MSL cameras page: ChemCam Remote Micro-Imager'),
    ('curiosity', 'CHEMCAM_RMI', 'science', 'NASA MSL cameras page: ChemCam Remote Micro-Imager'),
    ('curiosity', 'FHAZ', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'FHAZ_LEFT_A', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'FHAZ_LEFT_B', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'FHAZ_RIGHT_A', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'FHAZ_RIGHT_B', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'MAHLI', 'science', 'NASA MSL cameras page: Mars Hand Lens Imager'),
    ('curiosity', 'MARDI', 'entry-descent-landing', 'Malin et al. 2017: the Mars Descent Imager, by its EDL role (NASA lists it with the science cameras)'),
    ('curiosity', 'MAST', 'science', 'NASA MSL cameras page: Mastcam'),
    ('curiosity', 'MAST_LEFT', 'science', 'NASA MSL cameras page: Mastcam'),
    ('curiosity', 'MAST_RIGHT', 'science', 'NASA MSL cameras page: Mastcam'),
    ('curiosity', 'NAVCAM', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Navcams'),
    ('curiosity', 'NAV_LEFT_A', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Navcams'),
    ('curiosity', 'NAV_LEFT_B', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Navcams'),
    ('curiosity', 'NAV_RIGHT_A', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Navcams'),
    ('curiosity', 'NAV_RIGHT_B', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Navcams'),
    ('curiosity', 'RHAZ', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'RHAZ_LEFT_A', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'RHAZ_LEFT_B', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'RHAZ_RIGHT_A', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('curiosity', 'RHAZ_RIGHT_B', 'engineering', 'NASA MSL cameras page; Maki et al. 2012: Hazcams'),
    ('ingenuity', 'HELI_NAV', 'engineering', 'JPL raw-images group Mars Helicopter Tech Demo Cameras: flight navigation camera'),
    ('ingenuity', 'HELI_RTE', 'engineering', 'JPL raw-images group Mars Helicopter Tech Demo Cameras: colour context camera'),
    ('opportunity', 'ENTRY', 'entry-descent-landing', 'Maki et al. 2003: the EDL descent camera (DIMES)'),
    ('opportunity', 'FHAZ', 'engineering', 'Maki et al. 2003: MER Hazcams'),
    ('opportunity', 'MI', 'science', 'Squyres et al. 2003: Athena Microscopic Imager'),
    ('opportunity', 'MINITES', 'science', 'Squyres et al. 2003: Athena Mini-TES'),
    ('opportunity', 'NAVCAM', 'engineering', 'Maki et al. 2003: MER Navcam'),
    ('opportunity', 'PANCAM', 'science', 'Squyres et al. 2003: Athena Panoramic Camera'),
    ('opportunity', 'RHAZ', 'engineering', 'Maki et al. 2003: MER Hazcams'),
    ('perseverance', 'CACHECAM', 'engineering', 'NASA Perseverance cameras page; Maki et al. 2020: Cachecam'),
    ('perseverance', 'EDL_DDCAM', 'entry-descent-landing', 'JPL raw-images group Entry, Descent and Landing Cameras'),
    ('perseverance', 'EDL_PUCAM1', 'entry-descent-landing', 'JPL raw-images group Entry, Descent and Landing Cameras'),
    ('perseverance', 'EDL_PUCAM2', 'entry-descent-landing', 'JPL raw-images group Entry, Descent and Landing Cameras'),
    ('perseverance', 'EDL_RDCAM', 'entry-descent-landing', 'JPL raw-images group Entry, Descent and Landing Cameras'),
    ('perseverance', 'EDL_RUCAM', 'entry-descent-landing', 'JPL raw-images group Entry, Descent and Landing Cameras'),
    ('perseverance', 'FRONT_HAZCAM_LEFT_A', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'FRONT_HAZCAM_LEFT_B', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'FRONT_HAZCAM_RIGHT_A', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'FRONT_HAZCAM_RIGHT_B', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'LCAM', 'entry-descent-landing', 'JPL raw-images group Entry, Descent and Landing Cameras'),
    ('perseverance', 'MCZ_LEFT', 'science', 'JPL raw-images group Science Cameras'),
    ('perseverance', 'MCZ_RIGHT', 'science', 'JPL raw-images group Science Cameras'),
    ('perseverance', 'NAVCAM_LEFT', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'NAVCAM_RIGHT', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'PIXL_MCC', 'science', 'NASA Perseverance cameras page: PIXL Micro Context Camera'),
    ('perseverance', 'REAR_HAZCAM_LEFT', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'REAR_HAZCAM_RIGHT', 'engineering', 'JPL raw-images group Engineering Cameras'),
    ('perseverance', 'SHERLOC_ACI', 'science', 'JPL raw-images group Science Cameras'),
    ('perseverance', 'SHERLOC_WATSON', 'science', 'JPL raw-images group Science Cameras'),
    ('perseverance', 'SKYCAM', 'science', 'JPL raw-images group Science Cameras'),
    ('perseverance', 'SUPERCAM_RMI', 'science', 'JPL raw-images group Science Cameras'),
    ('spirit', 'ENTRY', 'entry-descent-landing', 'Maki et al. 2003: the EDL descent camera (DIMES)'),
    ('spirit', 'FHAZ', 'engineering', 'Maki et al. 2003: MER Hazcams'),
    ('spirit', 'MI', 'science', 'Squyres et al. 2003: Athena Microscopic Imager'),
    ('spirit', 'MINITES', 'science', 'Squyres et al. 2003: Athena Mini-TES'),
    ('spirit', 'NAVCAM', 'engineering', 'Maki et al. 2003: MER Navcam'),
    ('spirit', 'PANCAM', 'science', 'Squyres et al. 2003: Athena Panoramic Camera'),
    ('spirit', 'RHAZ', 'engineering', 'Maki et al. 2003: MER Hazcams')
) as c(rover, camera, category, basis)
order by rover, camera
