"""The committee's seal (印章) drawn from its name: a red ring, the name around the top arc with each character
turned to face outwards, a five-pointed star in the middle and "人民调解专用章" style text below it. PNG bytes,
cached per name. Needs a font with Chinese characters (the one the documents use); raises DocumentError
without one."""
from __future__ import annotations

import functools
import io
import math
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from app.documents.fonts import _KNOWN_FILES, require_cjk_font

SIZE = 360
RED = (210, 20, 20, 255)
ARC_DEGREES = 240  # how much of the ring the name spans, centred on the top


@functools.cache
def cjk_font_file() -> str:
    """The file of the documents' CJK font (fc-match, else Debian's known paths)."""
    family = require_cjk_font()
    fc_match = shutil.which("fc-match")
    if fc_match:
        out = subprocess.run([fc_match, "-f", "%{file}", family], capture_output=True, text=True, timeout=20,
                             check=False).stdout.strip()
        if out and Path(out).is_file():
            return out
    for path in _KNOWN_FILES.values():
        if Path(path).is_file():
            return path
    from app.documents.errors import DocumentError

    raise DocumentError(f"The font file of {family!r} was not found (fc-match).")


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(cjk_font_file(), size)


def _char(ch: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    size = int(font.size * 1.3)
    tile = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((size / 2, size / 2), ch, font=font, fill=RED, anchor="mm")
    return tile


def _arc_text(img: Image.Image, text: str, radius: float) -> None:
    """Each character on the top arc, its top towards the rim, read clockwise from the left."""
    n = len(text)
    span = min(ARC_DEGREES, 26 * n)
    font = _font(max(22, min(44, int(radius * math.radians(span) / max(n, 1) * 0.82))))
    centre = SIZE / 2
    for i, ch in enumerate(text):
        # angle from the top, clockwise, in degrees: -span/2 .. +span/2
        angle = -span / 2 + span * (i + 0.5) / n
        theta = math.radians(angle)
        x, y = centre + radius * math.sin(theta), centre - radius * math.cos(theta)
        tile = _char(ch, font).rotate(-angle, resample=Image.BICUBIC, expand=False)
        img.alpha_composite(tile, (int(x - tile.width / 2), int(y - tile.height / 2)))


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    points = []
    for k in range(10):
        rr = r if k % 2 == 0 else r * 0.382
        a = math.radians(-90 + 36 * k)
        points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    draw.polygon(points, fill=RED)


@functools.lru_cache(maxsize=64)
def seal_png(name: str, subtitle: str = "人民调解专用章") -> bytes:
    """The seal of the organisation called name, as PNG bytes (transparent background)."""
    img = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), outline=RED, width=11)
    _arc_text(img, name.strip(), radius=SIZE / 2 - 52)
    _star(draw, SIZE / 2, SIZE / 2, 52)
    if subtitle:
        font = _font(26)
        draw.text((SIZE / 2, SIZE / 2 + 92), subtitle, font=font, fill=RED, anchor="mm")
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()
