"""``python -m wan_dagster.command.resolve``: see and settle, by hand, creates whose outcome the
task list could not decide, and billed tasks that no SKU owns.

    python -m wan_dagster.command.resolve --ledger URL list
    python -m wan_dagster.command.resolve --ledger URL adopt ATTEMPT_ID TASK_ID
    python -m wan_dagster.command.resolve --ledger URL withdraw ATTEMPT_ID [--force]

The service is reached as the main command reaches it: DASHSCOPE_API_KEY and --region, or
--base-url (e.g. an external emulator). Exit status: 0 done, 1 refused (the message says why),
2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..core.account_limits import AccountLimits
from ..core.ledger import AttemptNotFound, Ledger
from ..core.resolution import ResolutionRefused, adopt, withdraw
from ..core.unowned import ambiguous_attempts, unowned_tasks
from ..dashscope import DashScopeClient, DashScopeError, PriceBook
from ..dashscope.registry import Region

KEY_VARIABLE = "DASHSCOPE_API_KEY"
EXIT_REFUSED = 1


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    with Ledger(args.ledger or Ledger.default_url()) as ledger, _client(args, ledger) as client:
        try:
            if args.action == "list":
                print(_listing(client, ledger))
                return 0
            if args.action == "adopt":
                done = adopt(client, ledger, args.attempt_id, args.task_id)
                print(f"attempt {done.id} ({done.asset} {done.sku}) now owns task {done.task_id}; "
                      "the task sensor or the SKU's next run collects it")
            else:
                done = withdraw(client, ledger, args.attempt_id, force=args.force)
                print(f"attempt {done.id} ({done.asset} {done.sku}) withdrawn ({done.status}); "
                      "the SKU's next run sends it afresh")
            return 0
        except (ResolutionRefused, AttemptNotFound, DashScopeError) as refused:
            print(f"Refused: {refused}", file=sys.stderr)
            return EXIT_REFUSED


def _listing(client: DashScopeClient, ledger: Ledger) -> str:
    lines = ["Ambiguous creates (attempt, SKU, asset, model, sent at, why):"]
    lines += [f"  {a.attempt_id}  {a.sku}  {a.asset}  {a.model}  {a.sent_at or 'never'}  {a.why}"
              for a in ambiguous_attempts(ledger)] or ["  none"]
    lines.append("Billed tasks no SKU owns (task, SKU, model, cost):")
    lines += [f"  {t.task_id}  {t.sku}  {t.model}  "
              f"{'unknown' if t.cost is None else f'{t.cost} {t.currency}'}"
              for t in unowned_tasks(client, ledger, PriceBook.load())] or ["  none"]
    return "\n".join(lines)


@contextmanager
def _client(args: argparse.Namespace, ledger: Ledger) -> Iterator[DashScopeClient]:
    key = os.environ.get(KEY_VARIABLE) or ("local" if args.base_url else None)
    if key is None:
        raise SystemExit(f"set {KEY_VARIABLE} (or --base-url for another server): the service's "
                         "task list is checked before anything is recorded")
    with DashScopeClient(api_key=key, region=args.region, base_url=args.base_url,
                         shared_limits=AccountLimits.for_ledger(ledger)) as client:
        yield client


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wan_dagster.command.resolve",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledger", help="SQLAlchemy URL of the ledger (default: SQLite under "
                                         "DAGSTER_HOME)")
    parser.add_argument("--region", default=Region.BEIJING.value,
                        choices=[r.value for r in Region])
    parser.add_argument("--base-url", help="DashScope-compatible API base URL")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="ambiguous creates and billed tasks no SKU owns")
    adopting = actions.add_parser("adopt", help="record TASK_ID as the task of ATTEMPT_ID")
    adopting.add_argument("attempt_id", type=int)
    adopting.add_argument("task_id")
    withdrawing = actions.add_parser("withdraw", help="record that ATTEMPT_ID created no task")
    withdrawing.add_argument("attempt_id", type=int)
    withdrawing.add_argument("--force", action="store_true",
                             help="even though unowned tasks of its model are listed")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
