"""CPU of one Dagster event in a run, with no wan_dagster code: what a materialization costs on
Dagster's default storage (SQLite under a temporary DAGSTER_HOME, as ``dagster dev`` keeps it)
whatever the plugin does. Side by side in one op, in alternating blocks:

- a bare materialization: an asset key and a partition, nothing else;
- one shaped like ours: about twenty metadata entries, two of them JSON, and a 3.6 KB JPEG inline
  as its description (the median size of our preview thumbnails of the sample's results);
- a log message (what a progress line costs).

    .venv/bin/python benchmarks/event_cost.py [--events 200]

Each SKU-asset that a batch stores is one materialization, so the first row is a floor of the
CPU per SKU-asset through Dagster that no change to the plugin can go below.
"""

import argparse
import base64
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable

import dagster as dg

BLOCK = 25


def _our_shape(partition: str) -> dg.AssetMaterialization:
    metadata: dict[str, object] = {f"dashscope/field_{n}": f"value {n}" for n in range(14)}
    metadata |= {"dashscope/cost_cny": 0.2, "media/size_bytes": 1_234_567,
                 "media/width": 1024, "media/height": 1024,
                 "dashscope/usage": dg.MetadataValue.json({"image_count": 1}),
                 "dashscope/parameters": dg.MetadataValue.json({"n": 1, "size": "1024*1024"})}
    preview = base64.b64encode(os.urandom(3600)).decode()
    return dg.AssetMaterialization(asset_key="product_image", partition=partition,
                                   description=f"![preview](data:image/jpeg;base64,{preview})",
                                   metadata=metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200, help="events of each kind")
    events = parser.parse_args().events // BLOCK * BLOCK
    partitions = dg.DynamicPartitionsDefinition(name="sku")

    @dg.asset(partitions_def=partitions)
    def product_image() -> None: ...

    spent: dict[str, float] = defaultdict(float)

    @dg.op
    def log_events(context: dg.OpExecutionContext) -> None:
        kinds: dict[str, Callable[[int], None]] = {
            "bare materialization": lambda n: context.log_event(dg.AssetMaterialization(
                asset_key="product_image", partition=f"SKU-{n}")),
            "materialization shaped like ours": lambda n: context.log_event(
                _our_shape(f"SKU-{n}")),
            "log message": lambda n: context.log.info(f"[{n}/{events}] product_image SKU-{n}"),
        }
        for start in range(0, events, BLOCK):
            for name, log in kinds.items():
                cpu = time.process_time()
                for n in range(start, start + BLOCK):
                    log(n)
                spent[name] += time.process_time() - cpu

    @dg.job
    def events_job() -> None:
        log_events()

    with tempfile.TemporaryDirectory() as home:
        instance = dg.DagsterInstance.local_temp(home)
        instance.add_dynamic_partitions("sku", [f"SKU-{n}" for n in range(events)])
        dg.Definitions(assets=[product_image], jobs=[events_job])
        assert events_job.execute_in_process(instance=instance).success
    print(f"{events} events of each kind, dagster {dg.__version__}, storage "
          f"{type(instance.event_log_storage).__name__}, {os.cpu_count()} cores")
    for name, seconds in spent.items():
        print(f"  {name:34s} {seconds * 1000 / events:6.2f} ms CPU per event")


if __name__ == "__main__":
    main()
