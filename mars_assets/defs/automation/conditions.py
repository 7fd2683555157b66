"""Declarative automation conditions shared by the assets."""

import dagster as dg

#: eager() for a table over all partitions: missing sols upstream are normal (the manifest
#: lists thousands), so "any dependency missing" must not block it.
EAGER_OVER_PARTITIONS = (
    dg.AutomationCondition.in_latest_time_window()
    & (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("eager_over_partitions")
