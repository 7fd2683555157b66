{{ config(location=gold_location(this.name)) }}
-- One row per rover x camera x sol with images: means of the per-image statistics.
select
    rover,
    camera,
    sol,
    count(*) as images,
    avg(brightness_norm) as mean_brightness_norm,
    avg(contrast / (pow(2, bit_depth) - 1)) as mean_contrast_norm,
    avg(red_mean) as mean_red,
    avg(green_mean) as mean_green,
    avg(blue_mean) as mean_blue,
    avg(gray_mean) as mean_gray,
    avg(entropy_bits) as mean_entropy_bits,
    avg(hf_energy_fraction) as mean_hf_energy_fraction,
    avg(fft_mean_magnitude) as mean_fft_magnitude
from {{ source('silver', 'image_stats') }}
group by rover, camera, sol
order by rover, camera, sol
