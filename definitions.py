"""Dagster definitions for wan-dagster (``dagster dev`` in the repository root loads this)."""

from wan_dagster.orchestration.defs import build_defs

defs = build_defs()
