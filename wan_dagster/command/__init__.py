"""The main command's parts (``python -m wan_dagster``): signals, progress, sensor state, summary."""
