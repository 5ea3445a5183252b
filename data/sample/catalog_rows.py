"""The catalog's content: every row's text, video settings and drawing, in catalog order."""
from __future__ import annotations

from .draw_accessories import draw_cap, draw_sunglasses, draw_wallet, draw_watch
from .draw_bags import draw_backpack, draw_clutch, draw_handbag, draw_tote
from .draw_electronics import draw_camera, draw_earbuds, draw_headphones, draw_phone, draw_speaker
from .draw_home import draw_candle_jar, draw_lamp, draw_mug, draw_plant, draw_vase
from .draw_shoes import draw_chelsea, draw_loafer, draw_pump, draw_sneaker
from .people import Garment, Person
from .products import Apparel, Product, Shoe
from .schema import Video
from .shading import hexc
from .shoe_template import ShoeTemplate

SKIN = {"light": hexc("#F2CDB0"), "fair": hexc("#E9BC98"), "medium": hexc("#D49A72"), "tan": hexc("#B57A55"),
        "deep": hexc("#8A5A3C"), "dark": hexc("#6B4330")}
HAIR = {"black": hexc("#231C1A"), "brown": hexc("#5B3A27"), "blonde": hexc("#C89F62"), "auburn": hexc("#7E3B20"),
        "dark": hexc("#35261F")}


def person(skin: str, hair: str, style: str, **kw: object) -> Person:
    return Person(SKIN[skin], HAIR[hair], style, **kw)


APPAREL = [
    Apparel(sku="APP-1001", title="Essential Crew-Neck Cotton T-Shirt, Coral", brand="Northbound Basics",
            garment=Garment("tee", hexc("#EE6F57")),
            person=person("light", "brown", "long", trousers=hexc("#6F8CB5"), shoes=(246, 246, 244)),
            background_prompt="sunlit minimalist bedroom with white linen and a potted olive tree",
            model_prompt="A young woman with long brown hair standing relaxed in a bright, airy loft, full body, "
                         "wearing a coral crew-neck t-shirt with light-wash jeans and white sneakers, soft daylight",
            face_prompt="friendly young woman in her twenties, natural makeup, warm smile",
            video_prompt="slow push-in toward the t-shirt, fabric moving gently in a light breeze",
            video=Video("wan2.2-i2v-flash", "480P", 5)),
    Apparel(sku="APP-1002", title="Heavyweight Fleece Pullover Hoodie, Forest Green", brand="Ridgeway",
            garment=Garment("hoodie", hexc("#2F5D46"), accent=(236, 234, 226)),
            person=person("tan", "black", "short", trousers=hexc("#2B2D33"), shoes=(30, 30, 32)),
            background_prompt="foggy pine forest trail at dawn, soft diffused light",
            model_prompt="A young man with short black hair standing on an urban rooftop at golden hour, full body, "
                         "wearing a forest-green pullover hoodie with black joggers and black sneakers",
            video_prompt="camera slowly orbits halfway around the model, steady and smooth",
            video=Video("wan2.6-i2v-flash", "720P", 5, False)),
    Apparel(sku="APP-1003", title="Polka-Dot Sleeveless A-Line Midi Dress, Navy", brand="Maison Lune",
            garment=Garment("dress", hexc("#1F2D55"), detail=(246, 244, 236)),
            person=person("medium", "dark", "bun", trousers=None, shoes=(214, 178, 150)),
            background_prompt="Mediterranean terrace with whitewashed walls and bougainvillea",
            model_prompt="A woman with her hair in a neat bun walking along a sunny seaside promenade, full body, "
                         "wearing a navy polka-dot sleeveless midi dress and nude flats, summer afternoon light",
            face_prompt="elegant woman in her thirties, soft smile, minimal makeup",
            video_prompt="slow tracking shot following the model as the skirt sways"),
    Apparel(sku="APP-1004", title="Slim-Fit Stretch Jeans, Indigo Wash", brand="Blue Harbor Denim",
            garment=Garment("jeans", hexc("#2E4A7D"), accent=(214, 150, 70)),
            person=person("fair", "blonde", "long", top=(248, 248, 246), shoes=(246, 246, 244)),
            background_prompt="weathered brick wall in a city alley with warm afternoon sun",
            model_prompt="A young woman with long blonde hair leaning against a brick wall in a city street, full "
                         "body, wearing indigo slim-fit jeans, a tucked white t-shirt and white sneakers",
            video_prompt="camera tilts slowly from the sneakers up to the waistband",
            video=Video("wanx2.1-i2v-turbo", "480P", 3)),
    Apparel(sku="APP-1005", title="Nylon Bomber Jacket, Olive", brand="Ridgeway",
            garment=Garment("bomber", hexc("#5E6B3A"), accent=(40, 44, 40)),
            person=person("deep", "black", "short", trousers=hexc("#3B3F47"), shoes=(245, 245, 242)),
            background_prompt="concrete skate park under an overcast sky",
            model_prompt="A man with short dark hair standing in a modern city plaza, full body, wearing an olive "
                         "nylon bomber jacket zipped up, charcoal chinos and white sneakers, overcast light",
            face_prompt="confident man in his late twenties, clean-shaven, neutral expression",
            video_prompt="slow dolly-in from full body to a waist-up framing",
            video=Video("wan2.2-i2v-flash", "720P", 5)),
    Apparel(sku="APP-1006", title="Cable-Knit Merino Crew Sweater, Mustard", brand="Fjord & Pine",
            model_format="png",
            garment=Garment("sweater", hexc("#D9A62E")),
            person=person("light", "auburn", "bob", trousers=hexc("#4A3B32"), shoes=(92, 60, 40)),
            background_prompt="cosy cabin interior with a wool throw and crackling fireplace",
            model_prompt="A woman with an auburn bob standing in a cosy autumn cafe, full body, wearing a mustard "
                         "cable-knit sweater with brown corduroy trousers and leather boots, warm window light",
            video_prompt="gentle handheld sway, slight push-in on the cable knit texture",
            video=Video("wan2.5-i2v-preview", "480P", 5)),
    Apparel(sku="APP-1007", title="Pleated Satin Midi Skirt, Burgundy", brand="Maison Lune",
            garment=Garment("skirt", hexc("#7A1F33")),
            person=person("dark", "black", "long", trousers=None, top=(26, 26, 28), shoes=(30, 28, 28)),
            background_prompt="art gallery with white walls and polished concrete floor",
            model_prompt="A woman with long black hair posing in a bright art gallery, full body, wearing a "
                         "burgundy pleated satin midi skirt with a fitted black top and black heels",
            face_prompt="graceful woman in her twenties, glossy lips, calm expression",
            video_prompt="slow 180-degree orbit as the pleats catch the light",
            video=Video("wan2.2-i2v-plus", "480P", 5)),
    Apparel(sku="APP-1008", title="Classic Belted Trench Coat, Camel", brand="Ashford & Co.",
            garment=Garment("trench", hexc("#C49A63")),
            person=person("medium", "brown", "long", trousers=hexc("#26282E"), shoes=(36, 30, 28)),
            background_prompt="rain-washed Paris street with cafe awnings",
            model_prompt="A woman with long brown hair walking down a rainy cobblestone street, full body, wearing "
                         "a camel belted trench coat over black trousers and ankle boots, soft overcast light",
            video_prompt="slow tracking shot beside the model, coat hem moving with each step"),
]

SHOES = [
    Shoe(sku="SHO-2001", title="Court Classic Leather Sneakers, White/Red", brand="Stride Lab",
         draw=lambda cv: draw_sneaker(cv, (246, 245, 240), (206, 40, 46)),
         template=ShoeTemplate(skin=SKIN["light"], bg=((232, 236, 240), (208, 214, 220)), hem="shorts"),
         background_prompt="clean white studio floor with a soft shadow and pastel backdrop",
         video_prompt="slow 360-degree turntable rotation of the sneaker",
         video=Video("wan2.2-i2v-flash", "480P", 5)),
    Shoe(sku="SHO-2002", title="AeroRun Mesh Running Shoes, Cobalt Blue", brand="Stride Lab",
         draw=lambda cv: draw_sneaker(cv, (40, 86, 200), (250, 130, 40), sole=(245, 245, 245), runner=True),
         template=ShoeTemplate(skin=SKIN["tan"], bg=((238, 236, 230), (216, 212, 204)), hem="shorts",
                               hem_color=(40, 40, 46), spread=10),
         background_prompt="wet asphalt running track at sunrise with lens flare",
         video_prompt="low-angle dolly across the shoe, light sweeping over the mesh",
         video=Video("wanx2.1-i2v-turbo", "720P", 4)),
    Shoe(sku="SHO-2003", title="Canvas High-Top Sneakers, Black", brand="Kickline",
         template_format="png",
         draw=lambda cv: draw_sneaker(cv, (34, 34, 38), (248, 248, 244), sole=(246, 244, 236), high=True),
         template=ShoeTemplate(skin=SKIN["deep"], bg=((240, 232, 226), (222, 210, 200)), hem="skirt",
                               hem_color=(180, 60, 60)),
         background_prompt="graffiti-covered urban wall with warm street light",
         video_prompt="slow push-in on the high-top silhouette",
         video=Video("wan2.6-i2v-flash", "720P", 8, True)),
    Shoe(sku="SHO-2004", title="Suede Chelsea Boots, Chestnut", brand="Ashford & Co.",
         draw=lambda cv: draw_chelsea(cv, (140, 82, 46)),
         template=ShoeTemplate(skin=SKIN["medium"], bg=((230, 226, 220), (206, 200, 192)), hem="skirt",
                               hem_color=(60, 64, 74), spread=6),
         background_prompt="rustic oak floorboards beside a leather armchair, autumn light",
         video_prompt="slow orbit around the boot with warm rim light"),
    Shoe(sku="SHO-2005", title="Patent Pointed-Toe Stiletto Pumps, Scarlet", brand="Rosso Atelier",
         draw=lambda cv: draw_pump(cv, (200, 20, 36)),
         template=ShoeTemplate(skin=SKIN["fair"], bg=((242, 234, 236), (224, 212, 216)), hem="skirt",
                               hem_color=(20, 20, 24)),
         background_prompt="polished marble floor in a luxury boutique with soft spotlights",
         video_prompt="slow rotation revealing the heel profile, glossy reflections",
         video=Video("wan2.2-i2v-flash", "1080P", 5)),
    Shoe(sku="SHO-2006", title="Penny Loafers, Oxblood", brand="Ashford & Co.",
         template_format="png",
         draw=lambda cv: draw_loafer(cv, (106, 28, 34)),
         template=ShoeTemplate(skin=SKIN["dark"], bg=((234, 234, 230), (210, 210, 204)), hem="shorts",
                               hem_color=(190, 170, 130), spread=4),
         background_prompt="library with dark wood shelves and a Persian rug",
         video_prompt="gentle camera glide from toe to heel",
         video=Video("wanx2.1-i2v-turbo", "480P", 5)),
]

GOODS = [
    Product(sku="BAG-3001", category="bags", title="Structured Top-Handle Leather Handbag, Cognac",
            brand="Atelier Noor", draw=lambda cv: draw_handbag(cv, (166, 92, 44)),
            background_prompt="marble console table in a sunlit hotel lobby",
            video_prompt="slow 180-degree orbit around the handbag",
            video=Video("wan2.2-i2v-flash", "480P", 5)),
    Product(sku="BAG-3002", category="bags", title="Everyday Commuter Backpack, Navy", brand="Trailmark",
            draw=lambda cv: draw_backpack(cv, (34, 48, 86)),
            background_prompt="wooden bench on a train platform in early morning light",
            video_prompt="slow push-in toward the front pocket",
            video=Video("wan2.5-i2v-preview", "720P", 10)),
    Product(sku="BAG-3003", category="bags", title="Striped Canvas Tote Bag, Natural/Blue", brand="Seaside Goods",
            draw=draw_tote,
            background_prompt="sandy beach with dune grass and a striped towel",
            video_prompt="handles swaying gently in a sea breeze, static camera"),
    Product(sku="ACC-4001", category="accessories", title="Bifold Leather Wallet, Espresso", brand="Atelier Noor",
            draw=lambda cv: draw_wallet(cv, (74, 46, 32)),
            background_prompt="walnut desk with a fountain pen and notebook",
            video_prompt="slow top-down rotation of the open wallet",
            video=Video("wan2.6-i2v-flash", "1080P", 10, False)),
    Product(sku="ACC-4002", category="accessories", title="Tortoiseshell Square Sunglasses", brand="Solstice Eyewear",
            draw=draw_sunglasses,
            background_prompt="poolside tiles with rippling water reflections",
            video_prompt="light sweeping across the lenses, slow pan right",
            video=Video("wan2.2-i2v-flash", "720P", 5)),
    Product(sku="ACC-4003", category="accessories", title="Automatic Dress Watch, Steel/Navy", brand="Halden",
            draw=draw_watch,
            background_prompt="dark slate surface with dramatic side lighting",
            video_prompt="macro push-in on the dial, seconds hand sweeping",
            video=Video("wan2.2-i2v-plus", "1080P", 5)),
    Product(sku="ACC-4004", category="accessories", title="Cotton Twill Baseball Cap, Sage", brand="Trailmark",
            draw=lambda cv: draw_cap(cv, (128, 150, 116)),
            background_prompt="sunny park lawn with dappled shade",
            video_prompt="slow turntable rotation of the cap",
            video=Video("wanx2.1-i2v-turbo", "480P", 5)),
    Product(sku="HOM-5001", category="home", title="Ceramic Table Lamp with Linen Shade, Teal", brand="Casa Alba",
            draw=draw_lamp,
            background_prompt="bedside table in a calm Scandinavian bedroom at dusk",
            video_prompt="lamp light warming up, slow push-in",
            video=Video("wan2.2-i2v-flash", "480P", 5)),
    Product(sku="HOM-5002", category="home", title="Speckled Stoneware Mug, 350 ml, Sand", brand="Casa Alba",
            draw=draw_mug,
            background_prompt="marble countertop in soft morning light with coffee beans",
            video_prompt="steam rising from the mug, slow orbit"),
    Product(sku="HOM-5003", category="home", title="Glazed Amphora Vase, Ochre/Cobalt", brand="Terra & Kiln",
            draw=draw_vase,
            background_prompt="limewashed plaster wall with a wooden sideboard",
            video_prompt="slow vertical pan from the base to the lip of the vase",
            video=Video("wan2.6-i2v-flash", "720P", 5, False)),
    Product(sku="HOM-5004", category="home", title="Snake Plant in Terracotta Pot", brand="Greenroom",
            draw=draw_plant,
            background_prompt="bright living room corner with a rattan chair",
            video_prompt="leaves swaying slightly, camera drifts left",
            video=Video("wan2.5-i2v-preview", "480P", 5)),
    Product(sku="ELE-6001", category="electronics", title="Wireless Noise-Cancelling Over-Ear Headphones, Matte Black",
            brand="Sonique", draw=draw_headphones,
            background_prompt="dark studio with a neon magenta rim light",
            video_prompt="slow 360-degree rotation with a subtle light sweep",
            video=Video("wan2.2-i2v-flash", "720P", 5)),
    Product(sku="ELE-6002", category="electronics", title="Nova X 6.4-inch Smartphone, Midnight", brand="Nova",
            draw=draw_phone,
            background_prompt="floating above a glossy reflective surface with soft gradient backdrop",
            video_prompt="phone slowly rotates to reveal its edge, light glints on the frame",
            video=Video("wanx2.1-i2v-turbo", "720P", 5)),
    Product(sku="ELE-6003", category="electronics", title="Portable Waterproof Bluetooth Speaker, Coral",
            brand="Sonique", draw=draw_speaker,
            background_prompt="picnic blanket by a lake on a sunny afternoon",
            video_prompt="water droplets bounce off the speaker, slow push-in"),
    Product(sku="ELE-6004", category="electronics", title="Mirrorless Camera with 24mm Lens, Silver", brand="Lumio",
            draw=draw_camera,
            background_prompt="travel flat lay on a linen tablecloth with a map and passport",
            video_prompt="slow orbit ending on the lens, reflections moving across the glass",
            video=Video("wan2.2-i2v-plus", "480P", 5)),
]


# Apart from the fault named in the comment, each is an ordinary, realistic row.
BROKEN = [
    Product(sku="BRK-MISSING", title="Braided Leather Belt, Tan", brand="Ashford & Co.", category="accessories",
            background_prompt="leather workshop bench with brass tools",
            video_prompt="slow pan along the braided strap",
            video=Video("wan2.2-i2v-flash", "480P", 5)),  # nothing draws the cutout: the file does not exist
    Product(sku="BRK-JPEG", title="Soy Wax Candle in Amber Glass Jar", brand="Casa Alba", category="home",
            draw=draw_candle_jar, cutout_name="BRK-JPEG_cutout.jpg",  # JPEG: no alpha channel
            background_prompt="windowsill with linen curtains and evening glow",
            video_prompt="candle flame flickers, slow push-in",
            video=Video("wanx2.1-i2v-turbo", "480P", 5)),
    Product(sku="BRK-RES", title="True Wireless Earbuds with Charging Case, White", brand="Sonique",
            category="electronics", draw=draw_earbuds,
            background_prompt="white desk with a laptop and a cup of tea",
            video_prompt="case lid glints as the camera orbits slowly",
            video=Video("wan2.2-i2v-plus", "720P", 5)),  # 720P is invalid for plus
    Product(sku="BRK/../unsafe:name", title="Envelope Clutch, Blush", brand="Atelier Noor", category="bags",
            draw=lambda cv: draw_clutch(cv, (226, 170, 170)), cutout_name="BRK-unsafe-name_cutout.png",
            background_prompt="velvet armchair in a dimly lit cocktail bar",
            video_prompt="slow push-in on the clasp",
            video=Video("wan2.2-i2v-flash", "720P", 5)),
]

ROWS: list[Product] = APPAREL + SHOES + GOODS + BROKEN
