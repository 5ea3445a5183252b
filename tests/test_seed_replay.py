"""Every request example of the seeds (each curl ``--data`` body and the poster page's example
bodies), replayed against the emulator with its remote media replaced by real media served
from loopback; each answer's keys are compared, recursively, with the seed's response example
that follows the request."""

from __future__ import annotations

import pytest

from seed_examples import Example, answers, key_paths, requests, seed_files
from seed_media import audio, video
from test_emulator import api, create, cutout_png, media_server, photo_jpeg, succeeded  # noqa: F401
from wan_dagster.dashscope.registry import REGISTRY, ImageRule

ASYNC = {"X-DashScope-Async": "enable"}
EXAMPLES = [(seed, example) for seed in seed_files() for example in requests(seed)]
TEMPLATE_PLACEHOLDER = "AACT.xxx.xxx-xxx.xxx"

#: Answer keys the emulator gives beyond a seed example, each because another seed line
#: documents them for that model: {example line: (extra keys, why)}.
DOCUMENTED_ELSEWHERE = {
    5197: ({"usage.audio"}, "L5294: usage.audio is returned for wan2.6-i2v-flash; the example "
                            "is the wan2.6 series' shared one"),
    9923: ({"output.submit_time", "output.scheduled_time", "output.end_time"},
           "the abridged AnimateAnyone examples omit the times every task answer carries "
           "(L12287-12291)"),
    10257: ({"output.submit_time", "output.scheduled_time", "output.end_time"},
            "as L9923"),
}


def _id(case: tuple) -> str:
    seed, example = case
    return f"{seed.name[:3]}:L{example.line}:{example.body['model']}"


def test_the_seeds_hold_the_examples_we_replay():
    # seed 000: 34 curl bodies plus the poster page's 11 example bodies; seed 002 (SDK samples
    # only) has no curl example
    assert {seed.name: len(requests(seed)) for seed in seed_files()} == {
        "000_abeeac904f9badb7.txt": 45, "002_03978654d0985699.txt": 0}


def _answer_for(seed, example: Example) -> Example | None:
    """The response example between this request and the next one."""
    following = [e.line for e in requests(seed) if e.line > example.line]
    end = min(following, default=10 ** 9)
    return next((a for a in answers(seed) if example.line < a.line < end), None)


def _media_url(host: str, routes: dict, model: str, field: str, url: str) -> str:
    """A loopback URL serving real media of the kind ``url`` names, fit for ``field``."""
    spec = REGISTRY.get(model)
    media = spec.media_field(field)
    name = url.split("?")[0].rsplit("/", 1)[-1].lower()
    if name.endswith((".mp4", ".mov", ".avi")):
        path, data = "/video.mp4", video(2.5, (640, 640), fps=25)
    elif name.endswith((".mp3", ".wav", ".aac")):
        fmt = "wav" if name.endswith(".wav") else "mp3"
        path, data = f"/audio.{fmt}", audio(3.5, fmt)
    elif media is not None and isinstance(media.rule, ImageRule) and media.rule.alpha == "required":
        path, data = "/cutout.png", cutout_png((768, 1024))
    else:
        path, data = "/photo.jpg", photo_jpeg((768, 1024))
    routes[path] = (200, data, 0.0)
    return f"{host}{path}"


def _localised(value, host: str, routes: dict, model: str, field: str = ""):
    if isinstance(value, dict):
        return {k: _localised(v, host, routes, model, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_localised(v, host, routes, model, field) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return _media_url(host, routes, model, field, value)
    return value


def _replay(api, example: Example, host: str, routes: dict) -> dict:
    body = _localised(example.body, host, routes, example.body["model"])
    spec = REGISTRY.get(body["model"])
    path = example.path or spec.endpoint.value
    if not spec.asynchronous:
        response = api.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()
    return succeeded(api, create(api, body, path))


@pytest.mark.parametrize("case", EXAMPLES, ids=[_id(c) for c in EXAMPLES])
def test_seed_example_replays_and_answers_with_the_seed_keys(api, media_server, case):
    seed, example = case
    host, routes = media_server
    if example.body["input"].get("template_id") == TEMPLATE_PLACEHOLDER:
        template = next(e for e in requests(seed)
                        if e.body["model"] == "animate-anyone-template-gen2")
        made = _replay(api, template, host, routes)["output"]["template_id"]
        example = Example(example.seed, example.line, {
            **example.body, "input": {**example.body["input"], "template_id": made}},
            example.path)
    answer = _replay(api, example, host, routes)
    documented = _answer_for(seed, example)
    if documented is None:
        return
    expected, got = key_paths(documented.body), key_paths(answer)
    allowed, _ = DOCUMENTED_ELSEWHERE.get(documented.line, (set(), ""))
    assert (sorted(expected - got), sorted(got - expected - allowed)) == ([], []), (
        f"{seed.name} L{documented.line}: (missing, extra)")
