"""The default recipe: a background for every product, a model shot (purchasable image
editing, from the background) for apparel and shoes, and a video from the model shot where
there is one, else from the background."""

from .model import Recipe, RecipeOutput, When

#: The default recipe's outputs (asset keys).
BACKGROUND, MODEL_SHOT, VIDEO = "background_image", "model_shot", "product_video"

DEFAULT_RECIPE = Recipe(outputs=[
    RecipeOutput(name=BACKGROUND, kind="background", params={"model_version": "v3"},
                 description="Product on a generated background "
                             "(wanx-background-generation-v2)."),
    RecipeOutput(name=MODEL_SHOT, kind="model_shot", source=BACKGROUND,
                 when=When(categories=["apparel", "shoes"]),
                 description="The product worn or held by a model: the background still "
                             "edited by wanx2.1-imageedit (purchasable); other categories have "
                             "none (their partitions say \"does not apply\")."),
    RecipeOutput(name=VIDEO, kind="image_to_video", source=[MODEL_SHOT, BACKGROUND],
                 description="Image-to-video from the model shot where there is one, else "
                             "from the background."),
])
