"""Dagster definitions for wan-dagster (``dagster dev`` in the repository root loads this)."""

import os

import dagster as dg

from wan_dagster.resources import DashScopeResource

# EnvVar keeps the key out of the UI and the event log; with no key the resource starts the
# embedded emulator instead of failing, so a fresh checkout runs without paying.
_api_key = dg.EnvVar("DASHSCOPE_API_KEY") if os.environ.get("DASHSCOPE_API_KEY") else ""

defs = dg.Definitions(resources={"dashscope": DashScopeResource(api_key=_api_key)})
