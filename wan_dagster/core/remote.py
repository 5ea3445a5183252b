"""A SKU's remote image URLs, checked before its first create.

The catalog never touches the network (a load of 100k rows must stay fast), so a URL that is
dead, hangs, serves an error page or a huge file is found here, per SKU, before anything is
paid: otherwise a 404 still costs a create, and an apparel row whose ``model_image`` URL is bad
would have its background paid for while its model shot could never run. Each URL gets one
bounded GET: status, content type and size from the headers, the body read only when no size
is declared (and then never past the cap), all within a timeout.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from .catalog import IMAGE_COLUMNS, RowError
from .product import Product
from .sources import MAX_IMAGE_BYTES

__all__ = ["RemoteInputs", "UrlCheck"]

#: Types an object store serves an image under when none was set at upload.
_GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream")


@dataclass(frozen=True)
class UrlCheck:
    """How far a URL is trusted: ``timeout`` seconds for the whole check, at most
    ``max_bytes``, at most ``concurrency`` URLs checked at once by one batch."""

    timeout: float = 10.0
    max_bytes: int = MAX_IMAGE_BYTES
    concurrency: int = 16
    max_redirects: int = 5


class RemoteInputs:
    """Checks the http(s) image cells of products, sharing one connection pool and a bound on
    the checks in flight. ``oss://`` URLs are DashScope's own storage, only it can read them."""

    def __init__(self, check: UrlCheck = UrlCheck()):
        self._check = check
        self._slots = asyncio.Semaphore(check.concurrency)

    async def problems(self, product: Product) -> list[RowError]:
        """Every remote image cell of ``product`` the service could not use, as RowErrors."""
        urls = {column: url for column in IMAGE_COLUMNS
                if (url := getattr(product, column)) and url.startswith(("http://", "https://"))}
        if not urls:
            return []
        async with httpx.AsyncClient(follow_redirects=True,
                                     max_redirects=self._check.max_redirects,
                                     timeout=self._check.timeout) as client:
            found = await asyncio.gather(*(self._problem(client, url) for url in urls.values()))
        return [RowError(product.row, product.sku, column, rule)
                for column, rule in zip(urls, found) if rule]

    async def _problem(self, client: httpx.AsyncClient, url: str) -> str | None:
        async with self._slots:
            try:
                async with asyncio.timeout(self._check.timeout):
                    return await self._fetch(client, url)
            except TimeoutError:
                return f"{url} did not answer within {self._check.timeout:g} s"
            except httpx.HTTPError as exc:
                return f"{url} cannot be fetched ({type(exc).__name__}: {exc})"

    async def _fetch(self, client: httpx.AsyncClient, url: str) -> str | None:
        cap = self._check.max_bytes
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                return f"{url} answered HTTP {response.status_code}, not the image"
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not kind.startswith("image/") and kind not in _GENERIC_TYPES:
                return f"{url} serves {kind or 'no content type'}, not an image"
            declared = response.headers.get("content-length", "")
            size = int(declared) if declared.isdigit() else await _length(response, cap)
            if size > cap:
                return f"{url} is larger than {cap / 1e6:.1f} MB, the most an image may be"
        return None


async def _length(response: httpx.Response, cap: int) -> int:
    """The body's length, read no further than one byte past ``cap``."""
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > cap:
            break
    return size
