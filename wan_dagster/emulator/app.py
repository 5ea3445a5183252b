"""``Emulator``: the local DashScope, assembled and run in-process (or by ``__main__``)."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import ssl
import threading
from types import TracebackType
from typing import Mapping

import httpx

from wan_dagster.dashscope.registry import REGISTRY, Registry

from .api import DashScopeApi
from .billing import Bill, Counters
from .blobs import BlobStore
from .clock import Clock
from .faults import FaultConfig, Faults
from .inputs import DOWNLOAD_TIMEOUT_SECONDS, Fetcher
from .oss import Signer
from .quota import FreeQuota
from .server import API_PREFIX, EmulatorHTTPServer
from .tasks import Tasks
from .uploads import Uploads

log = logging.getLogger("wan_dagster.emulator")

#: PENDING tasks one model may have before creates get 429 Throttling.AllocationQuota.
DEFAULT_MAX_QUEUE = 1000


class Emulator:
    """A DashScope emulator on a real HTTP port.

    ``with Emulator(time_scale=0.01) as emu: client = Client(base_url=emu.base_url)``. The
    socket is bound at construction (so ``base_url`` is known at once) and served from
    ``start()`` until ``stop()``. ``bill``, ``counters``, ``faults`` and ``clock`` give tests
    the same view that ``/admin/...`` gives other processes. ``free_quota`` sets the free
    quota (images per API key) of some trial-only models; the rest keep the registry's.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 time_scale: float = 1.0, faults: FaultConfig | None = None, seed: int = 0, *,
                 max_queue_per_model: int = DEFAULT_MAX_QUEUE, public_url: str | None = None,
                 data_dir: str | os.PathLike[str] | None = None, registry: Registry = REGISTRY,
                 workers: int | None = None, free_quota: Mapping[str, int] | None = None):
        if api_key is not None and not api_key.strip():
            raise ValueError("api_key must be None (accept any key) or a non-empty key")
        self.clock = Clock(time_scale)
        self.faults = Faults(faults, seed)
        self.counters = Counters(self.faults)
        self.bill = Bill()
        self.quota = FreeQuota(registry, free_quota)
        self.signer = Signer(secrets.token_bytes(32))
        self._http = EmulatorHTTPServer(host, port, self)  # first: a taken port leaves no trace
        self.blobs = BlobStore(data_dir)
        self.url = (public_url or _public_url(host, self.port)).rstrip("/")
        self._fetch_client = httpx.Client(verify=_tls_context())
        self.uploads = Uploads(self.clock, self.signer, self.blobs, f"{self.url}/oss")
        fetcher = Fetcher(self._fetch_client, self.uploads,
                          self.clock.scaled(DOWNLOAD_TIMEOUT_SECONDS))
        self.tasks = Tasks(clock=self.clock, faults=self.faults, bill=self.bill,
                           quota=self.quota, blobs=self.blobs,
                           signer=self.signer, fetcher=fetcher, public_url=self.url,
                           max_queue=max_queue_per_model, seed=seed,
                           workers=workers or max(2, os.cpu_count() or 2))
        self.api = DashScopeApi(registry=registry, tasks=self.tasks, uploads=self.uploads,
                                fetcher=fetcher, faults=self.faults, bill=self.bill,
                                counters=self.counters, clock=self.clock, api_key=api_key)
        self._serving: threading.Thread | None = None
        self._stopped = False

    @property
    def base_url(self) -> str:
        """What a DashScope client takes as its base URL: ``http://HOST:PORT/api/v1``."""
        return self.url + API_PREFIX

    @property
    def admin_url(self) -> str:
        return self.url + "/admin"

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    def start(self) -> Emulator:
        if self._serving is not None or self._stopped:
            raise RuntimeError("an Emulator starts once")
        self.tasks.start()
        self._serving = threading.Thread(target=self._http.serve_forever,
                                         kwargs={"poll_interval": 0.05}, name="emulator-http",
                                         daemon=True)
        self._serving.start()
        log.info("DashScope emulator serving %s (time scale %g)", self.base_url,
                 self.clock.time_scale)
        return self

    def stop(self) -> None:
        """Stop serving, end open connections, stop the scheduler and delete owned files."""
        if self._stopped:
            return
        self._stopped = True
        self.faults.close()  # held requests end now: stopping never waits on them
        if self._serving is not None:
            self._http.shutdown()
            self._serving.join()
        self._http.close_all()
        self._http.server_close()
        self.tasks.stop()
        self._fetch_client.close()
        self.blobs.close()

    def reset(self) -> None:
        """Forget tasks, uploads, bill, counters, rate windows, free quota used and runtime
        fault and quota changes."""
        self.tasks.clear()
        self.quota.clear()
        self.uploads.clear()
        self.bill.clear()
        self.counters.clear()
        self.faults.reset()
        self.api.reset()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One CA bundle load per process, not per emulator (tests start dozens of them)."""
    return httpx.create_ssl_context()


def _public_url(host: str, port: int) -> str:
    """The URL clients reach this server by; wildcard binds are reached over loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
