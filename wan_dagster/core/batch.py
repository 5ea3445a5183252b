"""The batch scheduler: generates a batch of SKUs inside one step, keeping every model's allowed
slots busy, starting a SKU's video as soon as its still is stored, and reporting each SKU's
outcome the moment it is known. No Dagster imports: the asset layer turns outcomes into
materializations and failures.

Every generation goes through the ledger: intent is recorded before a create, the task id as
soon as it is known, and a re-run resumes whatever it finds instead of paying again. Each
attempt is worked on by one live run at a time (its lease in the ledger): a run that meets an
attempt another live run holds waits for that run's outcome instead of reconciling or creating
for it, and takes over only once the holder's lease lapses (its process is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, TypeVar

from .catalog import Product
from ..dashscope import (AmbiguousCreateError, AsyncDashScopeClient, DashScopeError, PriceBook,
                        Task, TaskStatus, TaskTimeoutError)
from ..dashscope.errors import APIError, Disposition, create_disposition, is_resubmittable
from ..dashscope.limits import Slots
from ..dashscope.pricing import Cost
from ..dashscope.registry import Output
from ..dashscope.requests import TaskRequest
from ..dashscope.validation import decode_verdicts
from .image_verdicts import ValidationCache
from .leases import Heartbeat, lease_seconds, new_owner
from .ledger import Attempt, Ledger, Status
from .ledger_thread import LedgerThread
from ..dashscope.mediainfo import probe_image, probe_video
from .plan import DEFAULT_VIDEO, Planned, VideoDefaults, output_request, planned_outputs
from .recipes import DEFAULT_RECIPE, Recipe
from .remote import RemoteInputs, UrlCheck
from .store import MediaStore, StoredMedia
from .store_binding import bind_store
from . import unknown_creates
from .vanished import vanished_reason

log = logging.getLogger(__name__)
T = TypeVar("T")

SCRATCH_PREFIX = "wan-batch-"
#: Held (``flock``) by the process that owns a scratch directory, for as long as it lives.
SCRATCH_LOCK = ".owner.lock"
#: How often a run waiting for another run's attempt looks at the ledger again, in seconds.
CLAIM_POLL_S = 0.5
#: How often a create waiting for an earlier create's unknown outcome looks again, in seconds.
SETTLE_POLL_S = 1.0


@dataclass(frozen=True)
class Outcome:
    """What happened to one asset of one SKU in this run."""

    asset: str
    sku: str
    ok: bool
    attempt: Attempt | None = None
    stored: StoredMedia | None = None  # the first variant: what downstream outputs start from
    variants: tuple[StoredMedia, ...] = ()  # every variant the task returned, the first included
    media: dict[str, Any] = field(default_factory=dict)  # what the decoder saw
    reused: bool = False  # stored by an earlier or another run: nothing new was paid here
    error: str | None = None
    code: str | None = None


class BudgetExceeded(DashScopeError):
    """Raised before a create that would take the run past its budget."""


class CreateBlocked(DashScopeError):
    """Not sent because earlier creates of the model still have an unknown outcome."""


class Budget:
    """Per-run spending limit. A create reserves its estimated cost; the real cost from
    ``usage`` replaces the estimate; a failure releases it. With no limit, only counts."""

    def __init__(self, limit: Decimal | None, currency: str = "CNY"):
        self.limit = limit
        self.currency = currency
        self.spent = Decimal(0)
        self._reserved = Decimal(0)

    def reserve(self, estimate: Cost | None, what: str) -> Decimal:
        if self.limit is None:
            return Decimal(0)
        if estimate is None:
            raise BudgetExceeded(f"{what}: no price is known for this model, so a budget of "
                                 f"{self.limit} {self.currency} cannot be guaranteed")
        if self.spent + self._reserved + estimate.amount > self.limit:
            raise BudgetExceeded(
                f"{what}: budget of {self.limit} {self.currency} reached ({self.spent} spent, "
                f"{self._reserved} committed, this needs {estimate.amount}); not submitted")
        self._reserved += estimate.amount
        return estimate.amount

    def settle(self, reserved: Decimal, cost: Cost | None) -> None:
        self._reserved -= reserved
        if cost is not None:
            self.spent += cost.amount


@dataclass
class BatchSettings:
    run_id: str | None = None
    budget: Decimal | None = None
    video_defaults: VideoDefaults = DEFAULT_VIDEO
    max_attempts: int = 3  # per SKU and asset, counting resubmits after transient failures
    wait_timeout: float | None = 3600.0  # then the task is left to the task sensor
    regenerate_expired: bool = False  # pay again for results that expired uncollected
    url_check: UrlCheck = field(default_factory=UrlCheck)  # remote inputs, before any create
    recipe: Recipe = DEFAULT_RECIPE  # what each SKU gets


@dataclass
class Withdrawn:
    """What a terminated run cleaned up (best effort)."""

    canceled: int = 0  # PENDING tasks canceled at the service
    left_running: int = 0  # running or finished tasks, left for the task sensor
    unsent: int = 0  # intents whose create was never sent


class BatchRunner:
    def __init__(self, client: AsyncDashScopeClient, ledger: Ledger, store: MediaStore,
                 prices: PriceBook, settings: BatchSettings,
                 on_outcome: Callable[[Outcome], None] = lambda outcome: None):
        self.client = client
        self.ledger = ledger
        self.store = store
        self.prices = prices
        self.settings = settings
        self.budget = Budget(settings.budget, prices.currency)
        self.on_outcome = on_outcome
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._create_turns: dict[str, asyncio.Lock] = {}
        self._reserved: dict[str, Decimal] = {}  # task id -> budget reserved for it
        self._interrupted = False  # set by an interrupt: no SKU may send anything more
        self.withdrawn: Withdrawn | None = None  # set when the run was terminated
        self._remote = RemoteInputs(settings.url_check)
        #: This run's name on the attempts it works on (their lease holder).
        self.owner = new_owner("run")
        self._lease_s = lease_seconds()
        self._work: Path  # the scratch directory, while run() or collect() works
        self.db: LedgerThread  # the ledger off the event loop, while run() or collect() works
        #: Decoding, encoding and storing media, one job at a time (while run() or collect()
        #: works): several threads doing it at once would each take the interpreter lock from
        #: the event loop in turn.
        self._media_thread: ThreadPoolExecutor
        #: Decode verdicts of request inputs by content, in the ledger's database (while run()
        #: or collect() works): a catalog image the catalog's load decoded, or one that many
        #: SKUs share, is not decoded again for each request.
        self._verdicts: ValidationCache

    async def run(self, products: Iterable[Product], assets: Iterable[str]) -> list[Outcome]:
        selected = set(assets)
        products = list(products)
        async with self._working():
            chains = [asyncio.ensure_future(self._guarded(p, selected)) for p in products]
            try:
                per_sku = await asyncio.gather(*chains)
            except BaseException:  # terminated: the interrupt surfaced in the loop or a SKU
                for chain in chains:
                    chain.cancel()
                await asyncio.gather(*chains, return_exceptions=True)
                self.withdrawn = await self._withdraw()
                raise
        return [outcome for outcomes in per_sku for outcome in outcomes]

    @contextlib.asynccontextmanager
    async def _working(self) -> AsyncIterator[None]:
        """While the run works: a scratch directory of its own, and a heartbeat that keeps the
        leases on its attempts; at the end both go, and its attempts are free to claim. A
        store other than the ledger's refuses the run before anything starts. Both ends write
        to the database and the disk: in a thread, not on the loop (a probe or a run sharing
        the loop would stall)."""
        def start() -> None:
            bind_store(self.ledger, self.store)
            self._verdicts = ValidationCache.for_url(self.ledger.url)

        await asyncio.to_thread(start)
        heartbeat = Heartbeat(lambda: self.ledger.renew_leases(self.owner, self._lease_s),
                              self._lease_s / 3, "wan-attempt-lease").start()
        self.db = LedgerThread(self.ledger)
        self._media_thread = ThreadPoolExecutor(1, thread_name_prefix="wan-media")

        def finish() -> None:
            # media jobs not started yet were for SKUs that no longer wait for them (an
            # interrupted run); ledger calls all go through, as the loop made them
            self._media_thread.shutdown(wait=True, cancel_futures=True)
            self._verdicts.flush()
            self.db.close()
            heartbeat.stop()
            self.ledger.release_leases(self.owner)

        with _scratch_dir() as self._work:
            try:
                yield
            finally:
                # shielded: interrupted again, the thread still finishes the clean-up
                await asyncio.shield(asyncio.to_thread(finish))

    async def collect(self, attempt: Attempt) -> Outcome:
        """Finish an attempt some other run left behind (the task sensor's collect runs):
        recover its task if the id was never stored, wait for it, download and store it.
        Never creates a task: if the create never landed, the attempt is withdrawn so that the
        next run of the SKU starts a fresh one. An attempt a live run holds is left to it."""
        async with self._working():
            attempt = await self._claim(attempt)
            return await self._advance(attempt.asset, attempt.sku,
                                       unknown_creates.recorded_request(attempt), attempt,
                                       create=False)

    async def _withdraw(self) -> Withdrawn:
        """Best effort after termination: cancel this run's PENDING tasks (the service cancels
        nothing else), leave running ones to the task sensor, and withdraw intents whose
        create was never sent. An intent whose create may be on the wire stays for recovery."""
        withdrawn = Withdrawn()
        if self.settings.run_id is None:
            return withdrawn
        for attempt in await self.db.attempts(run_id=self.settings.run_id,
                                              status=(Status.INTENT, Status.SUBMITTED)):
            if attempt.status == Status.INTENT:
                if attempt.sent_at is None:
                    await self.db.mark_canceled(attempt.id)
                    withdrawn.unsent += 1
                continue
            try:
                await self.client.cancel(attempt.task_id)
            except DashScopeError:  # RUNNING or finished: the task sensor collects it
                withdrawn.left_running += 1
                continue
            await self.db.mark_canceled(attempt.id)
            withdrawn.canceled += 1
        return withdrawn

    # ------------------------------------------------------------------ per SKU

    async def _guarded(self, product: Product, selected: set[str]) -> list[Outcome]:
        """A bug must fail its SKU, not the batch; an interrupt (a BaseException) still ends it."""
        try:
            return await self._chain(product, selected)
        except Exception as exc:
            log.error("%s: %r", product.sku, exc, exc_info=exc)
            return self._fail_all(product, selected, repr(exc))

    def _fail_all(self, product: Product, selected: set[str], error: str,
                  code: str | None = None) -> list[Outcome]:
        return [self._report(Outcome(a, product.sku, False, error=error, code=code))
                for a in sorted(selected & set(product.input_fingerprints))]

    async def _chain(self, product: Product, selected: set[str]) -> list[Outcome]:
        """One SKU: its remote inputs checked (no stage is paid for if one cannot run), then its
        recipe's outputs, each started as soon as the outputs it starts from are stored. An
        output is made if selected or needed by a selected one (a stored one is reused)."""
        if refused := await self._remote.problems(product):
            return self._fail_all(product, selected, "; ".join(map(str, refused)),
                                  code="InvalidInput")
        planned = planned_outputs(product, self.settings.recipe)
        needed = _needed(planned, selected)
        made: dict[str, asyncio.Task[Outcome]] = {}
        for name, plan in planned.items():  # dependency order: sources are already in ``made``
            if name in needed:
                made[name] = asyncio.create_task(self._after_sources(plan, product, made))
        try:
            return [await made[name] for name in planned if name in selected and name in made]
        finally:  # interrupted: no output of the SKU goes on, and none's end goes unheard
            for task in made.values():
                task.cancel()
            await asyncio.gather(*made.values(), return_exceptions=True)

    async def _after_sources(self, plan: Planned, product: Product,
                             made: dict[str, asyncio.Task[Outcome]]) -> Outcome:
        sources = {ref: await made[ref] for ref in plan.sources.values() if ref in made}
        for ref, source in sources.items():
            if not source.ok:
                return self._report(Outcome(plan.name, product.sku, False,
                                            error=f"its {ref} failed: {source.error}",
                                            code=source.code))
        return await self._generate(plan, product, sources)

    async def _generate(self, plan: Planned, product: Product,
                        sources: dict[str, Outcome]) -> Outcome:
        asset = plan.name
        try:
            outcome = await self._generate_or_raise(plan, product, sources)
        except Exception as exc:  # one SKU's trouble must never sink the batch
            log.exception("%s %s failed", asset, product.sku)
            outcome = Outcome(asset, product.sku, False, error=f"{type(exc).__name__}: {exc}",
                              code=getattr(exc, "code", None))
        except BaseException:
            # An interrupt. Set in this task, before the model slot its unwinding freed wakes
            # another SKU that would send a create the withdrawal could not tell from one on
            # the wire.
            self._interrupted = True
            raise
        return self._report(outcome)

    async def _media(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._media_thread, functools.partial(work, *args, **kwargs))

    def _report(self, outcome: Outcome) -> Outcome:
        self.on_outcome(outcome)
        return outcome

    async def _generate_or_raise(self, plan: Planned, product: Product,
                                 sources: dict[str, Outcome]) -> Outcome:
        asset = plan.name
        request = await self._media(lambda: _encoded(self._request(plan, product, sources)))
        while True:
            attempt, fresh = await self.db.begin(
                asset=asset, sku=product.sku, input_fingerprint=product.input_fingerprints[asset],
                model=request.model, request_fingerprint=request.fingerprint,
                request_body=request.body, run_id=self.settings.run_id,
                max_attempts=self.settings.max_attempts, owner=self.owner,
                lease_s=self._lease_s)
            if attempt.status == Status.EXPIRED and self.settings.regenerate_expired:
                attempt, fresh = await self.db.restart(
                    attempt.id, run_id=self.settings.run_id, owner=self.owner,
                    lease_s=self._lease_s, reason="regenerate_expired was requested"), True
            if not fresh:
                attempt = await self._claim(attempt)
            outcome = await self._advance(asset, product.sku, request, attempt)
            # RETRYABLE: resubmit; CANCELED here: another run withdrew it before sending.
            if outcome.attempt is None \
                    or outcome.attempt.status not in (Status.RETRYABLE, Status.CANCELED) \
                    or outcome.attempt.attempt_no >= self.settings.max_attempts:
                return outcome  # (the task sensor marks RETRYABLE without counting attempts)
            log.warning("%s %s: %s; resubmitting", asset, product.sku, outcome.error)

    async def _claim(self, attempt: Attempt) -> Attempt:
        """The attempt once this run holds it, or as another run left it. While another live
        run holds it, that run alone sends, reconciles and collects: this one waits for its
        outcome, and takes over only if that run's lease lapses (its process is gone)."""
        announced = False
        while attempt.in_flight:
            attempt, granted = await self.db.claim(attempt.id, self.owner, self._lease_s)
            if granted:
                return attempt
            if not announced and attempt.in_flight:
                log.info("%s %s: attempt %s is being worked on by another run (%s); waiting "
                         "for its outcome", attempt.asset, attempt.sku, attempt.id, attempt.owner)
                announced = True
            await asyncio.sleep(CLAIM_POLL_S)
        return attempt

    def _request(self, plan: Planned, product: Product,
                 sources: dict[str, Outcome]) -> TaskRequest:
        """The recipe's request for one output, from local copies of the stills it starts
        from (each source's first variant)."""
        stills = {ref: self._local_copy(source.stored) for ref, source in sources.items()
                  if source.stored is not None}
        with decode_verdicts(self._verdicts):
            return output_request(product, plan, stills, self.settings.video_defaults)

    def _local_copy(self, stored: StoredMedia) -> Path:
        path = self.store.local_path(stored.key)
        if path is None:
            path = self._work / stored.key.replace("/", "_")
            if not path.exists():
                self.store.download_to(stored.key, path)
        return path

    # ------------------------------------------------------------------ state machine

    async def _advance(self, asset: str, sku: str, request: TaskRequest, attempt: Attempt,
                       *, create: bool = True) -> Outcome:
        """Move one ledger attempt forward as far as it goes: reuse, report, or find (recover,
        or with ``create`` send) its task, wait for it and collect it."""
        if attempt.status == Status.STORED:
            stored = self._stored_of(attempt)
            media = await self._media(lambda: self._probe_file(self._local_copy(stored), request))
            return Outcome(asset, sku, True, attempt, stored, media=media, reused=True)
        if not attempt.in_flight:
            return Outcome(asset, sku, False, attempt, error=_why_not(attempt), code=attempt.code)
        spec = request.spec
        # The model's tasks alive at once (its concurrency, with the user's quota overrides,
        # plus one queued ahead at the service): this run's share first, then the account's.
        slots = self.client.slot_counter(spec.name)
        gate = self._gates.setdefault(spec.name, asyncio.Semaphore(slots.size))
        async with gate, _slot(slots):
            task = await self._task_of(attempt, request, create)
            if task is None:
                attempt = await self.db.get(attempt.id)
                return Outcome(asset, sku, False, attempt, error=_why_not(attempt),
                               code=attempt.code or attempt.status.value)
            if attempt.status in (Status.INTENT, Status.AMBIGUOUS):
                attempt = await self.db.mark_submitted(attempt.id, task.task_id)
            try:
                task = await self.client.wait(task, model=spec.name,
                                              timeout=self.settings.wait_timeout)
            except TaskTimeoutError as exc:
                return Outcome(asset, sku, False, attempt, code="StillRunning",
                               error=f"{exc}; the task sensor will collect it")
        return await self._finish(asset, sku, request, attempt, task)

    async def _task_of(self, attempt: Attempt, request: TaskRequest, create: bool) -> Task | None:
        """The task behind ``attempt``: known, recovered after a crash, or (with ``create``)
        newly created. None when there is none: the attempt is then marked AMBIGUOUS (a create
        that cannot be told apart) or withdrawn (``create`` False and the create never landed)."""
        if attempt.task_id:
            return Task(task_id=attempt.task_id, status=TaskStatus.PENDING, model=request.model)
        try:
            # Never sent (sent_at None): nothing to recover. Otherwise its sender is gone (this
            # run holds the lease) and its create may have landed: look before sending again.
            recovered = None if attempt.sent_at is None else await self._recover(attempt, request)
            if recovered is not None:
                log.info("%s %s: recovered task %s created before a crash", attempt.asset,
                         attempt.sku, recovered.task_id)
                return recovered
            if not create:
                await self.db.run(unknown_creates.withdraw_unsent, attempt)
                return None
            await self._settle_unknown_creates(attempt)
            reserved = self.budget.reserve(self.prices.estimate(request.spec, request.body),
                                           f"{attempt.asset} {attempt.sku}")
            # One create of a model at a time in this run (the client sends one at a time
            # anyway): a create queued ahead must not be marked sent while another is on the
            # wire, where its reconciliation would count it as a rival from elsewhere.
            async with self._create_turns.setdefault(request.model, asyncio.Lock()):
                if self._interrupted:
                    raise asyncio.CancelledError("the run was interrupted before this create")
                await self.db.mark_sending(attempt.id, self.owner)
                try:
                    task = await self.client.create(
                        request,
                        known_task_ids=unknown_creates.known_task_ids(self.ledger, request.model),
                        rivals=unknown_creates.rival_count(self.ledger, attempt))
                except BaseException as exc:
                    self.budget.settle(reserved, None)
                    if isinstance(exc, APIError) and create_disposition(exc) is Disposition.FINAL:
                        # refused, so no task exists: failed for good, with the service's reason
                        await self.db.mark_failed(attempt.id, exc.code, str(exc), retryable=False)
                    raise
            self._reserved[task.task_id] = reserved
            return task
        except AmbiguousCreateError as exc:
            await self.db.mark_ambiguous(attempt.id, str(exc))
            return None

    async def _recover(self, attempt: Attempt, request: TaskRequest) -> Task | None:
        """The task of a create whose sender is gone, if it landed (see ``client.recover``)."""
        return await self.client.recover(
            request, **await self.db.run(unknown_creates.search, attempt))

    async def _rivals(self, attempt: Attempt) -> list[Attempt]:
        return await self.db.run(unknown_creates.rivals, attempt)

    async def _settle_unknown_creates(self, attempt: Attempt) -> None:
        """While a create of the model has an unknown outcome (AMBIGUOUS, or sent by a run
        that is gone), no other create of it is sent: a task that shows nothing to tell it
        apart could then never be given to the right attempt. Reconcile those first (or wait
        while another run does); give up after ``wait_timeout``."""
        deadline = None if self.settings.wait_timeout is None \
            else asyncio.get_running_loop().time() + self.settings.wait_timeout
        while unknown := [a for a in await self._rivals(attempt) if _outcome_unknown(a)]:
            for other in unknown:
                claimed, granted = await self.db.claim(other.id, self.owner, self._lease_s)
                if granted:
                    await self._reconcile_for(claimed)
            if deadline is not None and asyncio.get_running_loop().time() > deadline:
                stuck = ", ".join(f"attempt {a.id} ({a.asset} {a.sku})" for a in unknown)
                raise CreateBlocked(
                    f"not sent: earlier creates of {attempt.model} have an unknown outcome "
                    f"({stuck}); settle them with python -m wan_dagster.command.resolve (README "
                    "'Resolving an ambiguous create')")
            if any(_outcome_unknown(a) for a in await self._rivals(attempt)):
                await asyncio.sleep(SETTLE_POLL_S)

    async def _reconcile_for(self, other: Attempt) -> None:
        """Settle another SKU's create whose outcome is unknown, then let its own run have it."""
        try:
            try:
                found: Task | None | AmbiguousCreateError = await self._recover(
                    other, unknown_creates.recorded_request(other))
            except AmbiguousCreateError as exc:
                found = exc
            settled = await self.db.run(unknown_creates.record, other, found)
            if settled.status == Status.SUBMITTED:
                log.info("%s %s: found task %s of its earlier create", other.asset, other.sku,
                         settled.task_id)
        finally:
            await self.db.release_leases(self.owner, other.id)

    async def _finish(self, asset: str, sku: str, request: TaskRequest, attempt: Attempt,
                      task: Task) -> Outcome:
        spec = request.spec
        reserved = self._reserved.pop(task.task_id, Decimal(0))
        if not task.succeeded:
            self.budget.settle(reserved, None)
            if task.status == TaskStatus.UNKNOWN:
                attempt = await self.db.mark_expired(attempt.id, vanished_reason(attempt))
                return Outcome(asset, sku, False, attempt, code="UNKNOWN", error=_why_not(attempt))
            attempt = await self.db.mark_failed(
                attempt.id, task.code or task.status, task.message or "",
                retryable=is_resubmittable(task.code)
                and attempt.attempt_no < self.settings.max_attempts)
            return Outcome(asset, sku, False, attempt, code=task.code,
                           error=f"task {task.task_id} {task.status}: {task.code} {task.message}")
        cost = self.prices.cost(spec, task.usage, request.body)
        self.budget.settle(reserved, cost)
        if attempt.status != Status.SUCCEEDED:  # a re-run may find it succeeded, not stored
            attempt = await self.db.mark_succeeded(
                attempt.id, dict(task.usage.raw) if task.usage else None,
                cost.amount if cost else None, self.prices.currency)
        ext = "mp4" if spec.output == Output.VIDEO else "png"
        variants, media = [], {}
        for number, url in enumerate(task.result_urls, 1):  # every variant of an n-image task
            local = self._work / f"{task.task_id}-{number}.{ext}"
            await self.client.download(url, local)
            probed, variant = await self._media(self._probe_and_store, asset, sku, local,
                                                request, ext)
            media = media or probed  # the first variant's: what the asset shows
            variants.append(variant)
            local.unlink(missing_ok=True)
        stored = variants[0]
        attempt = await self.db.mark_stored(attempt.id, stored.uri, stored.sha256, stored.size)
        return Outcome(asset, sku, True, attempt, stored, tuple(variants), media=media)

    # ------------------------------------------------------------------ helpers

    def _stored_of(self, attempt: Attempt) -> StoredMedia:
        key = self.store.key_of(attempt.output_uri)
        return StoredMedia(uri=attempt.output_uri, key=key, size=attempt.output_size,
                           sha256=attempt.output_sha256,
                           content_type="video/mp4" if key.endswith(".mp4") else "image/png")

    def _probe_and_store(self, asset: str, sku: str, local: Path, request: TaskRequest,
                         ext: str) -> tuple[dict[str, Any], StoredMedia]:
        """A downloaded result walked (``_probe_file``: a mangled file raises) and then stored,
        in one hand-off to the media thread."""
        probed = self._probe_file(local, request)
        return probed, self.store.put_file(
            asset, sku, local, ext=ext, content_type="video/mp4" if ext == "mp4" else "image/png")

    @staticmethod
    def _probe_file(path: Path, request: TaskRequest) -> dict[str, Any]:
        """Walk the result's structure (PNG chunks and checksums, every video packet against
        the index): a cut or mangled file fails its SKU here. Its pixels are decoded where a
        rule needs them (a still that becomes a video's input; the media asset checks), not
        once more here: for a video that took 20 times the CPU of the walk."""
        if request.spec.output == Output.VIDEO:
            v = probe_video(path, decode=False)
            return {"codec": v.codec, "width": v.width, "height": v.height, "fps": v.fps,
                    "duration_s": round(v.duration_s, 3), "frames": v.frame_count,
                    "audio": v.has_audio}
        i = probe_image(path, decode=False)
        return {"format": i.format, "width": i.width, "height": i.height, "mode": i.mode}


@contextlib.contextmanager
def _scratch_dir() -> Iterator[Path]:
    """A scratch directory owned through an exclusive ``flock`` on a lock file inside it, held
    while it is in use. The kernel drops the lock when its holder dies, whatever PID namespace
    or machine it ran in, so the directories whose lock is free (a killed run never ran its
    cleanup) are removed first, with any partial download in them; a live run's never are."""
    root = Path(tempfile.gettempdir())
    for old in root.glob(f"{SCRATCH_PREFIX}*"):
        if old.is_dir() and _abandoned(old):
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    with open(path / SCRATCH_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def _abandoned(directory: Path) -> bool:
    """True if no live process holds the directory's lock (or it never had one)."""
    try:
        with open(directory / SCRATCH_LOCK, "r") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True
    except FileNotFoundError:  # being created right now, or not ours: leave it
        return False


def _encoded(request: TaskRequest) -> TaskRequest:
    """``request`` with its body encoded and fingerprinted (both cached on it): megabytes of
    embedded images, too much work for the event loop that sends it."""
    request.fingerprint  # noqa: B018 (computes and caches canonical_json too)
    return request


def _needed(planned: dict[str, Planned], selected: set[str]) -> set[str]:
    """The selected outputs the SKU gets, and every output they start from, transitively."""
    needed: set[str] = set()
    todo = [name for name in planned if name in selected]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += [ref for ref in planned[name].sources.values() if ref in planned]
    return needed


def _outcome_unknown(attempt: Attempt) -> bool:
    """AMBIGUOUS, or sent by a run whose lease has lapsed (it died before the answer)."""
    if attempt.status == Status.AMBIGUOUS:
        return True
    return attempt.sent_at is not None and (
        attempt.lease_until is None or attempt.lease_until < datetime.now(UTC))


def _why_not(attempt: Attempt) -> str:
    """Why an attempt that is not in flight has no stored result, in a user's words."""
    if attempt.status == Status.EXPIRED:
        return attempt.message or vanished_reason(attempt)
    if attempt.status == Status.CANCELED:
        return (f"attempt {attempt.attempt_no} was withdrawn before any task ran (canceled "
                "at the service, or its create never reached it)")
    if attempt.status == Status.AMBIGUOUS:
        return attempt.message or "the create's outcome is unknown"
    return f"{attempt.code}: {attempt.message}" if attempt.code else attempt.message or \
        f"attempt is {attempt.status}"


@contextlib.asynccontextmanager
async def _slot(counter: Slots) -> AsyncIterator[None]:
    """Hold one of a model's process-wide slots (shared with threads) while a task runs."""
    await counter.acquire_async()
    try:
        yield
    finally:
        counter.release()

