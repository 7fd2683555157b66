{# Which silver photo rows gold counts as photos: full frames. A row counts when its sample_type
   is 'full' in any case (MSL full, Mars 2020 Full, v1 full) or null (v1 rows written before the
   column was filled). The retired v1 API, whose manifests photo_gaps compares with, kept only full
   frames; MSL downsampled / subframe / chemcam prc ... rows stay in silver.photos, uncounted.
   The same rule as mars_assets.lib.photos.is_full_frame (the manifest_check asset check). #}
{% macro is_full_frame(sample_type='sample_type') -%}
coalesce(lower({{ sample_type }}), 'full') = 'full'
{%- endmacro %}
