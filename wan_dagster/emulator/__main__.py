"""``python -m wan_dagster.emulator``: serve the DashScope emulator until SIGINT/SIGTERM.

The API key may come from ``--api-key`` or, to keep it out of the process list, from the
DASHSCOPE_EMULATOR_API_KEY environment variable. It is never printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from dataclasses import fields

from wan_dagster.dashscope.registry import REGISTRY

from .app import DEFAULT_MAX_QUEUE, Emulator
from .faults import RATE_FIELDS, FaultConfig

API_KEY_ENV = "DASHSCOPE_EMULATOR_API_KEY"


def _fault_flag(name: str) -> str:
    return "--slow-factor" if name == "slow_factor" else "--fault-" + name.replace("_", "-")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wan_dagster.emulator",
                                     description="Local DashScope emulator (API under /api/v1).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--api-key", default=None,
                        help=f"the only accepted key (default: ${API_KEY_ENV}, else any key)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplies every latency and expiry (0.01: 100x faster)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE,
                        help="PENDING tasks per model before 429 Throttling.AllocationQuota")
    parser.add_argument("--free-quota", action="append", default=[], metavar="[MODEL=]IMAGES",
                        help="free quota per API key of a free-trial-only model (every one "
                             "without MODEL=); repeatable; default: the registry's (500)")
    parser.add_argument("--public-url", default=None,
                        help="base URL clients reach this server by (default http://HOST:PORT)")
    parser.add_argument("--data-dir", default=None,
                        help="where result and upload files go (default: a temporary directory)")
    parser.add_argument("--log-level", default="INFO")
    faults = parser.add_argument_group("fault injection (rates: probabilities in [0, 1])")
    for f in fields(FaultConfig):
        rate = f.name in RATE_FIELDS
        faults.add_argument(_fault_flag(f.name), dest=f.name, default=f.default,
                            type=_probability if rate else float,
                            metavar="RATE" if rate else "FACTOR", help=f.metadata["help"])
    return parser.parse_args(argv)


def _free_quota(settings: list[str]) -> dict[str, int]:
    """``--free-quota`` values as limits per model; a bare number applies to every
    trial-only model (the emulator refuses a model that is not one, or a bad number)."""
    limits: dict[str, int] = {}
    for setting in settings:
        model, _, images = setting.rpartition("=")
        models = [model] if model else [s.name for s in REGISTRY if s.purchase.trial_only]
        try:
            limits.update(dict.fromkeys(models, int(images)))
        except ValueError:
            raise ValueError(f"--free-quota {setting!r}: IMAGES must be a whole number") from None
    return limits


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = FaultConfig(**{f.name: getattr(args, f.name) for f in fields(FaultConfig)})
        emulator = Emulator(args.host, args.port,
                            api_key=args.api_key or os.environ.get(API_KEY_ENV),
                            time_scale=args.time_scale, faults=config, seed=args.seed,
                            max_queue_per_model=args.max_queue, public_url=args.public_url,
                            data_dir=args.data_dir, free_quota=_free_quota(args.free_quota))
    except (ValueError, OSError) as exc:  # bad settings, or the port is taken
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with emulator:
        print(f"DashScope emulator listening on {emulator.base_url}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
