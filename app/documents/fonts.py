"""Is there a font with Chinese glyphs? WeasyPrint only warns and prints empty boxes when there is none."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Named first in the documents' CSS, in this order; any other font covering Chinese also passes the check.
PREFERRED_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Serif CJK SC")
DEBIAN_PACKAGES = "fonts-wqy-microhei (1.6 MB) or fonts-noto-cjk"
# Where Debian's packages put them; looked at only when fontconfig's fc-list is not installed.
_KNOWN_FILES = {
    "WenQuanYi Micro Hei": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "Noto Sans CJK SC": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
}
_checked: str | None = None


def cjk_font_families() -> list[str]:
    """Families fontconfig knows that cover Chinese (fc-list :lang=zh), as fontconfig reports them."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return [family for family, path in _KNOWN_FILES.items() if Path(path).is_file()]
    out = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=20,
                         check=False).stdout
    families: list[str] = []
    for line in out.splitlines():
        for name in line.split(","):
            if name.strip() and name.strip() not in families:
                families.append(name.strip())
    return families


def choose_family(families: list[str]) -> str | None:
    """The preferred family if installed, else the first Chinese font there is (None: no Chinese font)."""
    for family in PREFERRED_FAMILIES:
        if family in families:
            return family
    return families[0] if families else None


def require_cjk_font() -> str:
    """The CJK font family the documents use; raises DocumentError when none is installed (checked once)."""
    global _checked
    if _checked is None:
        from app.documents.errors import DocumentError

        family = choose_family(cjk_font_families())
        if family is None:
            raise DocumentError(
                "No font with Chinese characters is installed, so the PDF would show empty boxes: "
                f"install the Debian package {DEBIAN_PACKAGES} (apt-get install -y fonts-wqy-microhei), "
                "then restart the app. 未安装中文字体，无法生成 PDF。")
        _checked = family
    return _checked


def forget() -> None:
    """Check again at the next render (after installing a font; tests)."""
    global _checked
    _checked = None
