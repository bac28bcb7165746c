"""Text normalisation (width, case, traditional characters) and the process-wide jieba set-up."""
from __future__ import annotations

import logging
import threading
import unicodedata
from pathlib import Path

MAX_CHARS = 4000          # classification reads the first 4,000 characters: the facts come first
_T2S_FILE = Path(__file__).with_name("t2s.txt")
_lock = threading.Lock()
_loaded_userdicts: set[str] = set()
_jieba = None


def _read_t2s() -> dict[int, str]:
    table: dict[int, str] = {}
    for line in _T2S_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            trad, simp = line.split("\t")
            table.update({ord(t): s for t, s in zip(trad, simp, strict=True)})
    return table


T2S = _read_t2s()


def normalise(text: object, limit: int = MAX_CHARS) -> str:
    """Text as the engine compares it: NFKC, simplified characters, lower case, at most `limit` chars."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[: limit * 2]
    text = unicodedata.normalize("NFKC", text).translate(T2S).lower()
    return " ".join(text.split())[:limit]


def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph (the characters keywords are made of)."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def jieba_tokenizer(userdict: Path | None, words: dict[str, int]):
    """The process-wide jieba tokenizer with the userdict and extra words loaded (once per path)."""
    global _jieba
    with _lock:
        if _jieba is None:
            import jieba  # imported lazily: ~0.6 s and ~90 MB, paid once per process

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba.dt
        if userdict is not None and userdict.is_file() and str(userdict) not in _loaded_userdicts:
            with open(userdict, "rb") as f:     # jieba leaves a path's file open (ResourceWarning)
                _jieba.load_userdict(f)
            _loaded_userdicts.add(str(userdict))
        for word, freq in words.items():
            if not _jieba.FREQ.get(word):
                _jieba.add_word(word, freq)
    return _jieba
