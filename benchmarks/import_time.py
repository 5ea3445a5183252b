"""What importing the plugin costs, beside what its own dependencies cost: each import in a
fresh interpreter, best of N (not a test).

    .venv/bin/python benchmarks/import_time.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: (what is measured, its statement, the baseline it is compared with)
CASES = [
    ("client", "import wan_dagster.dashscope", "import httpx, PIL.Image"),
    ("emulator", "import wan_dagster.emulator", "import httpx, PIL.Image, av, numpy"),
    ("definitions", "import definitions", "import dagster, dagster_aws.s3, pandas, pyarrow"),
]


def best(statement: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    empty = best("pass", args.repeat)
    print(f"{'import':12s} {'ours s':>8s} {'deps s':>8s} {'ratio':>6s}   (interpreter start {empty:.2f} s subtracted)")
    for name, statement, baseline in CASES:
        ours, deps = best(statement, args.repeat) - empty, best(baseline, args.repeat) - empty
        print(f"{name:12s} {ours:8.2f} {deps:8.2f} {ours / deps:6.2f}")


if __name__ == "__main__":
    main()
