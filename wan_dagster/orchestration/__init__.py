"""The Dagster layer: resources, assets, checks, sensors, jobs and the schedule, built on the
core services."""
