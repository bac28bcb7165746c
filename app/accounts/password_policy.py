"""Is a new password too easy to guess? (OWASP ASVS 5.0 6.2.4 and 6.2.11: checked against common passwords and
against words of this context.) zxcvbn estimates the guesses an attacker needs from its frequency lists (common
passwords, words, names), keyboard walks, repeats, sequences and dates; the list in data/common_passwords_zh.txt adds
passwords common among Chinese users, which its English lists miss, and the user's own details (with the pinyin of a
Chinese name) and the site's name count as words too. No composition rules (ASVS 6.2.5): length and unpredictability
only. Checked where a user sets a password: registration and the password change form."""
from __future__ import annotations

from pathlib import Path

from pypinyin import Style, lazy_pinyin
from zxcvbn import zxcvbn
from zxcvbn.matching import add_frequency_lists

# zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses or more); 2 and below are refused.
MIN_SCORE = 3
SITE_WORDS = ("jiefen", "解纷", "jiefenpingtai", "tiaojie", "调解")
_COMMON_ZH = Path(__file__).with_name("data") / "common_passwords_zh.txt"


def _load_common() -> list[str]:
    lines = _COMMON_ZH.read_text(encoding="utf-8").splitlines()
    return [line.strip().lower() for line in lines if line.strip() and not line.startswith("#")]


add_frequency_lists({"passwords_zh": _load_common()})


def _variants(item: str) -> list[str]:
    """The item, its parts split at @ and spaces, and for Chinese text its pinyin: 王秀英 gives wangxiuying,
    xiuying (the given name) and wxy, the forms such names take in passwords."""
    out = [item, *(part for part in item.replace("@", " ").split() if part != item)]
    if any("\u4e00" <= ch <= "\u9fff" for ch in item):
        syllables = lazy_pinyin(item, errors="ignore")
        out += ["".join(syllables), "".join(syllables[1:]),
                "".join(lazy_pinyin(item, style=Style.FIRST_LETTER, errors="ignore"))]
    return [word for word in out if len(word) >= 2]


def too_guessable(password: str, *context: str | None) -> bool:
    """True when the password would fall to a guessing attack: the context is the user's username, name, phone and
    e-mail."""
    words = list(SITE_WORDS)
    for item in context:
        if item:
            words.extend(_variants(item))
    # zxcvbn refuses passwords over 72 characters; so many characters are never the weak part.
    return zxcvbn(password[:72], user_inputs=words)["score"] < MIN_SCORE
