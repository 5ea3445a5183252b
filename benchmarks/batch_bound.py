"""Lower bound on the sample batch's wall time under the emulator's limits and latencies
(not a test: run it next to the main command to compare).

    .venv/bin/python benchmarks/batch_bound.py [--time-scale 0.02]

Per model: tasks cannot finish faster than their submit rate allows, nor faster than their
shortest possible run times spread over the model's concurrent slots; and every video waits
for its still. Shortest run times are the registry's run-time windows, which the emulator
draws from.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from wan_dagster.__main__ import _sample_recipe
from wan_dagster.core.catalog import load_catalog
from wan_dagster.dashscope.registry import REGISTRY, TIER_PIXELS, Output, run_time
from wan_dagster.core.plan import DEFAULT_VIDEO, priced_outputs

DATA = Path(__file__).resolve().parent.parent / "data"


def min_latency(model: str, duration: float = 0, tier: str = "480P") -> float:
    """The shortest run time of a task (service seconds), from the registry's window."""
    spec = REGISTRY.get(model)
    if spec.video is None:
        return run_time(spec.output).shortest
    return run_time(Output.VIDEO, duration, TIER_PIXELS[tier]).shortest


def bound(scale: float) -> tuple[float, dict[str, float]]:
    recipe = _sample_recipe()  # what the main command runs
    catalog = load_catalog(DATA / "catalog.csv", recipe=recipe)
    runs: dict[str, list[float]] = defaultdict(list)
    first_model = ""
    for product in catalog.products:
        for model, params in priced_outputs(product, recipe, DEFAULT_VIDEO).values():
            first_model = first_model or model
            runs[model].append(min_latency(model, params.get("duration", 0),
                                           params.get("resolution", "480P")) * scale)
    per_model = {}
    for model, latencies in runs.items():
        limits = REGISTRY.get(model).limits
        by_rate = max(0, len(latencies) - max(1, int(limits.submit_per_second))) \
            / limits.submit_per_second
        per_model[model] = max(by_rate, sum(latencies) / limits.concurrency)
    # the last still of the recipe's first model (serial, rate-limited) still needs a video
    shortest_video = min(v for m, vs in runs.items() if REGISTRY.get(m).video for v in vs)
    chain = per_model[first_model] + shortest_video
    return max(chain, *per_model.values()), per_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-scale", type=float, default=0.02)
    args = parser.parse_args()
    total, per_model = bound(args.time_scale)
    for model, seconds in sorted(per_model.items(), key=lambda kv: -kv[1]):
        print(f"{model:32s} >= {seconds:6.1f} s")
    print(f"{'batch (with the still -> video chain)':32s} >= {total:6.1f} s")


if __name__ == "__main__":
    main()
