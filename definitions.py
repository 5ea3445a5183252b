"""The sample project's recipe: what a marketplace seller gets for every catalog row, written
with wan_dagster's public API only. ``dagster dev`` loads this file (workspace.yaml), and
``python -m wan_dagster`` runs the same recipe, so the UI can re-execute the command's runs.

Per row: the product on a generated background; for apparel and shoes, the product worn or
held by a model (purchasable image editing, no free-trial-only model); a 1024 px square main
image and a 9:16 vertical still, both from the model shot where there is one; and a vertical
video from the vertical still (image-to-video keeps its first frame's aspect).
"""

from wan_dagster import Recipe, RecipeOutput, When, build_defs

BEST_STILL = ["model_shot", "background_image"]  # the model shot where the row has one

recipe = Recipe(outputs=[
    RecipeOutput(name="background_image", kind="background", params={"model_version": "v3"},
                 description="The product on a background from its background_prompt."),
    RecipeOutput(name="model_shot", kind="model_shot", source="background_image",
                 when=When(categories=["apparel", "shoes"]),
                 description="The product worn or held by a model (wanx2.1-imageedit)."),
    RecipeOutput(name="square_image", kind="outpaint", source=BEST_STILL,
                 params={"target": "1024x1024"},
                 description="Square 1024 px main image, the scene extended around it."),
    RecipeOutput(name="vertical_image", kind="outpaint", source=BEST_STILL,
                 params={"target": "9:16"}, description="9:16 still for vertical feeds."),
    RecipeOutput(name="product_video", kind="image_to_video", source="vertical_image",
                 description="Vertical video from the 9:16 still (cheap and silent unless the "
                             "row says otherwise)."),
])

defs = build_defs(recipe=recipe)
