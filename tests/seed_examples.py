"""The request and response examples of the seeds, parsed from the text as written.

Every JSON object in a seed that has ``model`` and ``input`` is a request example (each curl
``--data`` body and the poster page's example bodies); every object with ``output`` is a
response example. Response examples printed by SDK samples (Python ``print(rsp)``, Java
``System.out``) show SDK objects rather than wire answers and are set apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The seeds (the original Chinese docs), which tests cite by file name and line: the project's
#: shared/ folder, which CI lays beside the repository as it is beside the checkout here.
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
_SDK_PRINT = re.compile(r"print\(|System\.out|public static void main")


@dataclass(frozen=True)
class Example:
    seed: str
    line: int  # 1-based line of the opening brace
    body: dict[str, Any]
    path: str | None = None  # the create path of a curl example (after /api/v1)
    from_sdk_sample: bool = False


def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


def examples(seed: Path) -> list[Example]:
    """Every top-level JSON object in ``seed``, in order."""
    text = seed.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    found, at = [], 0
    while (at := text.find("{", at)) >= 0:
        try:
            obj, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            at += 1
            continue
        if isinstance(obj, dict):
            before = text[max(0, at - 600):at]
            curl = before.rfind("curl ")
            path = None
            if curl >= 0 and (match := re.search(r"/api/v1(/services/[^'\s\"]+)", before[curl:])):
                path = match.group(1)
            found.append(Example(seed.name, text.count("\n", 0, at) + 1, obj, path,
                                 bool(_SDK_PRINT.search(before[-400:]))))
        at = end if isinstance(obj, dict) else at + 1
    return found


def requests(seed: Path) -> list[Example]:
    return [e for e in examples(seed) if "model" in e.body and "input" in e.body]


def answers(seed: Path) -> list[Example]:
    """Wire answers of a successful call (SUCCEEDED tasks, passed detections)."""
    return [e for e in examples(seed) if isinstance(e.body.get("output"), dict)
            and not e.from_sdk_sample and "code" not in e.body["output"]
            and e.body["output"].get("task_status", "SUCCEEDED") == "SUCCEEDED"]


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in ``value``: ``output.results[].url``; list items are merged."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, f"{prefix}[]")
    return paths
