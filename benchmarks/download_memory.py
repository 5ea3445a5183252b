"""Peak memory while the client downloads a 1 GB result: streamed to disk, it should grow
the process by a few megabytes, not by the file's size (not a test: it writes 1 GB).

    .venv/bin/python benchmarks/download_memory.py [--megabytes 1024]

A loopback HTTP server streams the bytes (in a child process, so its buffers are not
counted); the figure is the growth of this process's peak resident set during the download,
beside the same growth for ``httpx.get`` reading the whole body into memory, measured in a
child process of its own.
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process
from pathlib import Path

CHUNK = b"\x5a" * (1 << 20)


def serve(port: int, megabytes: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(megabytes * len(CHUNK)))
            self.end_headers()
            for _ in range(megabytes):
                self.wfile.write(CHUNK)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(url: str) -> float:
    from wan_dagster.dashscope import DashScopeClient
    with DashScopeClient(api_key="sk-benchmark", base_url="http://127.0.0.1:1/api/v1") as client, \
            tempfile.TemporaryDirectory() as tmp:
        before = peak_mb()
        client.download(url, Path(tmp) / "result.mp4")
        return peak_mb() - before


def whole_body(url: str) -> float:
    import httpx
    before = peak_mb()
    size = len(httpx.get(url, timeout=600).content)
    assert size > 0
    return peak_mb() - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--measure", choices=["ours", "whole_body"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child: one measurement, printed
        print({"ours": ours, "whole_body": whole_body}[args.measure](args.url))
        return
    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Process(target=serve, args=(port, args.megabytes), daemon=True)
    server.start()
    time.sleep(0.5)
    url = f"http://127.0.0.1:{port}/results/big.mp4"
    try:
        grown = {how: float(subprocess.check_output(
            [sys.executable, __file__, "--measure", how, "--url", url]))
            for how in ("ours", "whole_body")}
    finally:
        server.terminate()
    print(f"{args.megabytes} MB download, peak memory growth: ours {grown['ours']:.1f} MB, "
          f"httpx reading the whole body {grown['whole_body']:.1f} MB "
          f"(ratio {grown['ours'] / grown['whole_body']:.3f})")


if __name__ == "__main__":
    main()
