"""The review gallery: one static HTML page in the media store that shows, per SKU, its cutout,
every generated still, the video (poster frame and player), prompts, models, cost and status,
and why a failed or invalid SKU has no media; filterable by status and category. Media are
linked relative to the page, so the folder works on disk and behind any static file server
(S3 website, CDN). No Dagster imports."""

from __future__ import annotations

import html
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .review import CurrentMedia, SkuReview, thumbnail_jpeg
from .store import MediaStore, StoredMedia, safe_name

GALLERY = "gallery"
_CUTOUT_PX = 256


@dataclass(frozen=True)
class Gallery:
    page: StoredMedia
    skus: int
    by_status: dict[str, int]
    images: int
    videos: int


def build_gallery(reviews: list[SkuReview], store: MediaStore,
                  prefix: str = GALLERY) -> Gallery:
    """Write ``{prefix}/index.html`` with its posters and cutout thumbnails; returns counts."""
    cards, images, videos = [], 0, 0
    for sku in reviews:
        figures = []
        cutout = _cutout(store, prefix, sku)
        if cutout:
            figures.append(_figure("cutout", f'<img src="{cutout}" alt="cutout {_e(sku.sku)}" '
                                   'loading="lazy">', ""))
            images += 1
        for asset in sku.applies:
            media = sku.media.get(asset)
            if media is None or media.key is None:
                continue
            if media.key.endswith(".mp4"):
                poster = _poster(store, prefix, sku, media)
                element = (f'<video controls preload="metadata" poster="{poster}" '
                           f'src="../{_e(media.key)}"></video>')
                videos += 1
            else:
                element = f'<img src="../{_e(media.key)}" alt="{asset} {_e(sku.sku)}" ' \
                          'loading="lazy">'
                images += 1
            figures.append(_figure(asset, element, _caption(media)))
        cards.append(_card(sku, figures))
    by_status = dict(Counter(r.status for r in reviews))
    categories = sorted({r.category for r in reviews if r.category})
    page = _PAGE.format(
        count=len(reviews), summary=_e(", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))),
        statuses="".join(f'<option value="{s}">{s}</option>' for s in sorted(by_status)),
        categories="".join(f'<option value="{_e(c)}">{_e(c)}</option>' for c in categories),
        cards="\n".join(cards))
    stored = store.put_named(f"{prefix}/index.html", page.encode(),
                             content_type="text/html; charset=utf-8")
    return Gallery(stored, len(reviews), by_status, images, videos)


def _cutout(store: MediaStore, prefix: str, sku: SkuReview) -> str | None:
    """A thumbnail of the catalog's local cutout beside the page (catalog folders are not
    published); None for cutouts given as URLs."""
    if not sku.cutout or "://" in sku.cutout or not Path(sku.cutout).is_file():
        return None
    with Image.open(sku.cutout) as img:
        img.thumbnail((_CUTOUT_PX, _CUTOUT_PX))
        buf = io.BytesIO()
        img.save(buf, "PNG")
    name = f"cutouts/{safe_name(sku.sku)}.png"
    store.put_named(f"{prefix}/{name}", buf.getvalue(), content_type="image/png")
    return name


def _poster(store: MediaStore, prefix: str, sku: SkuReview, media: CurrentMedia) -> str:
    assert media.key is not None
    data = thumbnail_jpeg(store.get_bytes(media.key), video=True, size=640)
    name = f"posters/{safe_name(sku.sku)}.jpg"
    store.put_named(f"{prefix}/{name}", data, content_type="image/jpeg")
    return name


def _caption(media: CurrentMedia) -> str:
    attempt = media.attempt
    cost = "price unknown" if attempt.cost is None else f"{attempt.cost} {attempt.currency}"
    return (f'<div class="model">{_e(attempt.model)} · {_e(cost)}</div>'
            f'<div class="prompt">{_e(media.prompt or "")}</div>')


def _figure(label: str, element: str, caption: str) -> str:
    return (f'<figure class="{label}">{element}<figcaption><b>{label}</b>{caption}'
            '</figcaption></figure>')


def _card(sku: SkuReview, figures: list[str]) -> str:
    problems = "".join(f"<li>{_e(p)}</li>" for p in sku.problems)
    return (f'<section class="sku" data-status="{sku.status}" '
            f'data-category="{_e(sku.category or "")}" data-sku="{_e(sku.sku)}">'
            f'<header><h2>{_e(sku.sku)}</h2><span class="status {sku.status}">{sku.status}'
            f'</span><span class="meta">row {sku.row} · {_e(sku.category or "?")} · '
            f'{_e(sku.title or "")} · {sku.cost} CNY</span></header>'
            + (f'<ul class="problems">{problems}</ul>' if problems else "")
            + f'<div class="media">{"".join(figures)}</div></section>')


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wan-dagster review gallery</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1rem 2rem; background: #f6f6f4; }}
.filters {{ position: sticky; top: 0; background: #f6f6f4; padding: .5rem 0; }}
.sku {{ background: white; border-radius: 8px; padding: .6rem 1rem; margin: .8rem 0;
        box-shadow: 0 1px 3px #0002; }}
.sku header {{ display: flex; gap: 1rem; align-items: baseline; }}
.sku h2 {{ font-size: 1.1rem; margin: 0; }}
.status {{ padding: 0 .5rem; border-radius: 4px; color: white; }}
.done {{ background: #2e7d32; }} .failed {{ background: #c62828; }}
.pending {{ background: #9e9e9e; }} .invalid {{ background: #6a1b9a; }}
.ambiguous {{ background: #ef6c00; }}
.meta {{ color: #555; }}
.media {{ display: flex; gap: .8rem; flex-wrap: wrap; }}
figure {{ margin: 0; width: 240px; }}
figure img, figure video {{ width: 240px; height: 240px; object-fit: contain;
        background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 16px 16px; }}
figcaption {{ font-size: 12px; }} .prompt {{ color: #555; }}
.problems {{ color: #c62828; margin: .3rem 0; }}
</style></head>
<body>
<h1>Review gallery</h1>
<p id="summary">{count} SKUs: {summary}</p>
<div class="filters">
<label>Status <select id="status"><option value="">all</option>{statuses}</select></label>
<label>Category <select id="category"><option value="">all</option>{categories}</select>
</label>
<span id="shown"></span>
</div>
<main>
{cards}
</main>
<script>
function applyFilters() {{
  const status = document.getElementById("status").value;
  const category = document.getElementById("category").value;
  let shown = 0;
  for (const card of document.querySelectorAll("section.sku")) {{
    const visible = (!status || card.dataset.status === status) &&
                    (!category || card.dataset.category === category);
    card.hidden = !visible;
    shown += visible ? 1 : 0;
  }}
  document.getElementById("shown").textContent = "showing " + shown + " SKUs";
  document.body.dataset.shown = shown;
}}
const params = new URLSearchParams(location.search);
for (const name of ["status", "category"]) {{
  const select = document.getElementById(name);
  if (params.has(name)) select.value = params.get(name);
  select.addEventListener("change", applyFilters);
}}
applyFilters();
</script>
</body></html>
"""
