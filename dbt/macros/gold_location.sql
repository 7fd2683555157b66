{# Where a gold model's Parquet goes: <warehouse_root>/gold/<model>/part-0.parquet.
   dbt-duckdb pastes the location between single quotes (COPY ... TO '<location>', and the view's
   read_parquet('<location>')), so it is returned with every ' doubled: a SQL string literal's body. #}
{% macro gold_location(name) -%}
{{ (var('warehouse_root') ~ '/gold/' ~ name ~ '/part-0.parquet') | replace("'", "''") }}
{%- endmacro %}

{# dbt's default would prefix the profile schema ("main_gold"); use the custom schema as given #}
{% macro generate_schema_name(custom_schema_name, node) -%}
{{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}

{# earth_date of a sol: landing_date + floor(sol * seconds_per_sol / 86400) days (Photos API v1 rule) #}
{% macro earth_date_of_sol(landing_date, sol) -%}
(cast({{ landing_date }} as date) + cast(floor({{ sol }} * {{ var('seconds_per_sol') }} / 86400) as integer))
{%- endmacro %}
