"""Running a job from Python so that the UI can re-execute the run afterwards.

``JobDefinition.execute_in_process`` records runs without a code-location origin; the UI's
re-execution starts by reading that origin (``remote_job_origin``), so such runs fail there with
``CheckError: Expected non-None value``. ``execute_job_run`` records the run as if the UI had
launched it from the ``wan_dagster`` code location of ``workspace.yaml`` (same job name, tags,
config and asset selection, and an execution-plan snapshot), then executes it in this process
with the caller's definitions (e.g. resources pointing at an embedded emulator).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.remote_origin import (InProcessCodeLocationOrigin, RemoteJobOrigin,
                                         RemoteRepositoryOrigin)
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

#: ``location_name`` of the project's entry in ``workspace.yaml``: where the UI finds the job.
LOCATION_NAME = "wan_dagster"
DEFINITIONS_FILE = Path(__file__).resolve().parents[2] / "definitions.py"


def ui_job_origin(job_name: str, location_name: str = LOCATION_NAME) -> RemoteJobOrigin:
    """The origin the UI gives runs it launches: code location, repository, job."""
    target = LoadableTargetOrigin(executable_path=sys.executable,
                                  python_file=str(DEFINITIONS_FILE), attribute="defs",
                                  working_directory=str(DEFINITIONS_FILE.parent))
    repository = RemoteRepositoryOrigin(
        InProcessCodeLocationOrigin(target, location_name=location_name),
        SINGLETON_REPOSITORY_NAME)
    return RemoteJobOrigin(repository, job_name)


def execute_job_run(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str, *,
                    partition_key: str | None = None, tags: Mapping[str, str] | None = None,
                    run_config: Mapping[str, Any] | None = None,
                    asset_selection: Iterable[dg.AssetKey] | None = None,
                    location_name: str = LOCATION_NAME) -> dg.DagsterRun:
    """Create a UI-re-executable run of ``job_name`` and execute it here; returns the finished
    run (its status says whether it succeeded)."""
    job = defs.get_job_def(job_name)
    selection = set(asset_selection) if asset_selection is not None else None
    if selection is not None:
        job = job.get_subset(asset_selection=selection)
    run_tags = {**job.run_tags, **(tags or {}),
                **({PARTITION_NAME_TAG: partition_key} if partition_key else {})}
    # This process holds the definitions (and e.g. an embedded emulator): steps run here.
    config = {"execution": {"config": {"in_process": {}}}, **(run_config or {})}
    plan = create_execution_plan(job, run_config=config, instance_ref=instance.get_ref(),
                                 tags=run_tags)
    run = instance.create_run_for_job(
        job_def=job, execution_plan=plan, run_config=config, tags=run_tags,
        asset_selection=frozenset(selection) if selection is not None else None,
        remote_job_origin=ui_job_origin(job_name, location_name),
        job_code_origin=ReconstructableJob(
            ReconstructableRepository.for_file(str(DEFINITIONS_FILE), "defs",
                                               str(DEFINITIONS_FILE.parent)),
            job_name).get_python_origin())
    execute_run(InMemoryJob(job), run, instance)
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None
    return finished

