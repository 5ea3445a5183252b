"""A catalog row: its listing text and video settings, and how its images are drawn.

Image paths are relative to the catalog file; the file name decides the format
(PNG or JPEG), so a row's data says everything about what gets written.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from .apparel import ghost_cutout, model_shot
from .canvas import Canvas, fit_cutout, product_canvas
from .people import Garment, Person
from .schema import Video
from .shoe_template import ShoeTemplate, render_shoe_template

IMAGES = "images"  # the image folder, next to the catalog files


@dataclass(frozen=True, kw_only=True)
class Product:
    """A row whose only image is the product cutout (bags, accessories, home, electronics, broken rows)."""
    sku: str
    title: str
    brand: str
    category: str
    background_prompt: str
    video_prompt: str
    video: Video = Video()
    draw: Callable[[Canvas], None] | None = None  # draws the cutout; None: the file is never written
    cutout_name: str | None = None  # when not "<sku>_cutout.png" (an unsafe SKU, a JPEG)

    @property
    def cutout_image(self) -> str:
        return f"{IMAGES}/{self.cutout_name or self.sku + '_cutout.png'}"

    def cells(self) -> dict[str, object]:
        return dict(sku=self.sku, title=self.title, brand=self.brand, category=self.category,
                    cutout_image=self.cutout_image, background_prompt=self.background_prompt,
                    video_prompt=self.video_prompt, video_model=self.video.model,
                    video_resolution=self.video.resolution, video_duration=self.video.duration,
                    video_audio=self.video.audio)

    def images(self) -> dict[str, Image.Image]:
        """Path relative to the catalog -> image."""
        if self.draw is None:
            return {}
        cv = product_canvas()
        self.draw(cv)
        cutout = fit_cutout(cv)
        if self.cutout_image.endswith(".jpg"):  # a supplier JPEG on white: no alpha channel
            flat = Image.new("RGB", cutout.size, (255, 255, 255))
            flat.paste(cutout, mask=cutout.getchannel("A"))
            cutout = flat
        return {self.cutout_image: cutout}


@dataclass(frozen=True, kw_only=True)
class Apparel(Product):
    """A garment: a ghost-mannequin cutout plus a model shot and its garment mask."""
    category: str = "apparel"
    garment: Garment
    person: Person
    model_prompt: str
    face_prompt: str | None = None
    model_format: str = "jpg"

    @property
    def model_image(self) -> str:
        return f"{IMAGES}/{self.sku}_model.{self.model_format}"

    @property
    def model_mask(self) -> str:
        return f"{IMAGES}/{self.sku}_mask.png"

    def cells(self) -> dict[str, object]:
        return super().cells() | dict(model_image=self.model_image, model_mask=self.model_mask,
                                      model_prompt=self.model_prompt, face_prompt=self.face_prompt)

    def images(self) -> dict[str, Image.Image]:
        model, mask = model_shot(self.garment, self.person)
        return {self.cutout_image: ghost_cutout(self.garment), self.model_image: model, self.model_mask: mask}


@dataclass(frozen=True, kw_only=True)
class Shoe(Product):
    """A shoe: its cutout plus a template of bare feet to put it on."""
    category: str = "shoes"
    template: ShoeTemplate
    template_format: str = "jpg"

    @property
    def shoe_template(self) -> str:
        return f"{IMAGES}/{self.sku}_shoe_template.{self.template_format}"

    def cells(self) -> dict[str, object]:
        return super().cells() | dict(shoe_template=self.shoe_template)

    def images(self) -> dict[str, Image.Image]:
        return super().images() | {self.shoe_template: render_shoe_template(self.template)}
