"""The catalog sensor's cursor, kept where ``dagster dev`` keeps it for this repository.

The main command evaluates the real ``catalog_sensor``; storing its cursor in the instance under
the sensor's selector (code location from ``workspace.yaml``, repository, sensor name: what
Dagster looks sensor state up by) means that the sensor started later in the UI, and the next
command, request only what is new or changed since. Dagster has no public call for writing a
sensor's cursor outside a daemon tick, so this module is the one place that uses its
instigator-state records.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.remote_origin import (ManagedGrpcPythonEnvCodeLocationOrigin,
                                         RemoteInstigatorOrigin, RemoteRepositoryOrigin)
from dagster._core.scheduler.instigation import (InstigatorState, InstigatorStatus,
                                                 SensorInstigatorData)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

SENSOR = "catalog_sensor"
REPOSITORY = "__repository__"  # the name Dagster gives the repository of a Definitions object
DEFAULT_LOCATION = "wan_dagster"


def location_name(workspace: Path) -> str:
    """The code location name ``dagster dev`` gives ``definitions.py`` in ``workspace``."""
    if not workspace.is_file():
        return DEFAULT_LOCATION
    entries = (yaml.safe_load(workspace.read_text()) or {}).get("load_from") or []
    for entry in entries:
        target = entry.get("python_file") if isinstance(entry, dict) else None
        if isinstance(target, dict) and target.get("location_name"):
            return str(target["location_name"])
    return DEFAULT_LOCATION


class SensorCursor:
    """Read and write ``catalog_sensor``'s cursor for the code location of ``workspace``."""

    def __init__(self, instance: dg.DagsterInstance, workspace: Path):
        repo = workspace.parent
        target = LoadableTargetOrigin(executable_path=sys.executable,
                                      python_file=str(repo / "definitions.py"),
                                      working_directory=str(repo))
        location = ManagedGrpcPythonEnvCodeLocationOrigin(target, location_name(workspace))
        self._origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(location, REPOSITORY), SENSOR)
        self._instance = instance
        fresh = InstigatorState(self._origin, InstigatorType.SENSOR,
                                InstigatorStatus.DECLARED_IN_CODE,
                                SensorInstigatorData(sensor_type=SensorType.STANDARD))
        self._selector_id = fresh.selector_id
        self._fresh = fresh

    def _state(self) -> InstigatorState | None:
        return self._instance.get_instigator_state(self._origin.get_id(), self._selector_id)

    def get(self) -> str | None:
        state = self._state()
        return state.instigator_data.cursor if state and state.instigator_data else None

    def set(self, cursor: str) -> None:
        """Store ``cursor``, keeping the sensor's running/stopped status as it is."""
        state = self._state()
        if state is None:
            self._instance.add_instigator_state(
                self._fresh.with_data(self._fresh.instigator_data._replace(cursor=cursor)))
        else:
            data = state.instigator_data or SensorInstigatorData(sensor_type=SensorType.STANDARD)
            self._instance.update_instigator_state(state.with_data(data._replace(cursor=cursor)))
