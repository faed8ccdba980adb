"""Which scripts the installed fonts cover, asked of fontconfig (the library Pango uses).

A notice that needs Chinese or Korean glyphs is refused when no installed font covers
them, instead of being printed with empty boxes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from renewals.domain.notices.context import Language

# fontconfig's orthographies: zh-cn is GB 2312, zh-tw is Big5, ko is KS X 1001 Hangul.
FC_LANG: dict[Language, str] = {"en": "en", "zh-Hans": "zh-cn", "zh-Hant": "zh-tw", "ko": "ko"}
CJK_LANGUAGES: frozenset[Language] = frozenset({"zh-Hans", "zh-Hant", "ko"})
# What the print stylesheet asks for first, by Debian package (see system-packages.txt).
DEBIAN_PACKAGES: dict[Language, str] = {
    "en": "fonts-liberation2",
    "zh-Hans": "fonts-noto-cjk",
    "zh-Hant": "fonts-noto-cjk",
    "ko": "fonts-nanum",
}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


class _FcFontSet(ctypes.Structure):
    _fields_ = [
        ("nfont", ctypes.c_int),
        ("sfont", ctypes.c_int),
        ("fonts", ctypes.POINTER(ctypes.c_void_p)),
    ]


@cache
def _fontconfig() -> ctypes.CDLL:
    name = ctypes.util.find_library("fontconfig") or "libfontconfig.so.1"
    lib = ctypes.CDLL(name)
    lib.FcNameParse.restype = ctypes.c_void_p
    lib.FcNameParse.argtypes = [ctypes.c_char_p]
    lib.FcObjectSetCreate.restype = ctypes.c_void_p
    lib.FcObjectSetAdd.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.FcFontList.restype = ctypes.POINTER(_FcFontSet)
    lib.FcFontList.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.FcPatternGetString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
    lib.FcPatternGetInteger.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.FcFontSetDestroy.argtypes = [ctypes.POINTER(_FcFontSet)]
    lib.FcPatternDestroy.argtypes = [ctypes.c_void_p]
    lib.FcObjectSetDestroy.argtypes = [ctypes.c_void_p]
    return lib


def families_covering(fc_lang: str) -> list[str]:
    """Family names of installed fonts that cover a fontconfig language (`fc-list :lang=X`)."""
    lib = _fontconfig()
    pattern = lib.FcNameParse(f":lang={fc_lang}".encode())
    objects = lib.FcObjectSetCreate()
    lib.FcObjectSetAdd(objects, b"family")
    fontset = lib.FcFontList(None, pattern, objects)
    families: set[str] = set()
    try:
        if fontset:
            for i in range(fontset.contents.nfont):
                value = ctypes.c_char_p()
                if lib.FcPatternGetString(fontset.contents.fonts[i], b"family", 0, ctypes.byref(value)) == 0:
                    families.add((value.value or b"").decode("utf-8", "replace"))
    finally:
        if fontset:
            lib.FcFontSetDestroy(fontset)
        lib.FcObjectSetDestroy(objects)
        lib.FcPatternDestroy(pattern)
    return sorted(families)


def font_file(family: str, style: str) -> tuple[Path, int] | None:
    """The file and face index of an installed font, e.g. ("Noto Sans CJK SC", "Bold")."""
    lib = _fontconfig()
    pattern = lib.FcNameParse(f"{family}:style={style}".encode())
    objects = lib.FcObjectSetCreate()
    for name in (b"file", b"index"):
        lib.FcObjectSetAdd(objects, name)
    fontset = lib.FcFontList(None, pattern, objects)
    try:
        if not fontset or fontset.contents.nfont == 0:
            return None
        found = fontset.contents.fonts[0]
        file, index = ctypes.c_char_p(), ctypes.c_int()
        if lib.FcPatternGetString(found, b"file", 0, ctypes.byref(file)) != 0 or not file.value:
            return None
        lib.FcPatternGetInteger(found, b"index", 0, ctypes.byref(index))
        return Path(file.value.decode()), index.value
    finally:
        if fontset:
            lib.FcFontSetDestroy(fontset)
        lib.FcObjectSetDestroy(objects)
        lib.FcPatternDestroy(pattern)


def coverage() -> dict[Language, list[str]]:
    """For each notice language, the installed families that cover its script."""
    return {language: families_covering(fc_lang) for language, fc_lang in FC_LANG.items()}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def scripts_needed(language: Language, texts: Iterable[str]) -> set[Language]:
    """The CJK languages whose fonts a notice needs: its own, and any in its text.

    An English letter to 上海云启科技有限公司 needs a Han font too. Han characters in any
    language are satisfied by a Simplified or Traditional Chinese font; see `missing_scripts`.
    """
    needed: set[Language] = {language} & CJK_LANGUAGES
    for text in texts:
        if _HANGUL.search(text):
            needed.add("ko")
        if _HAN.search(text) and not needed & {"zh-Hans", "zh-Hant"}:
            needed.add("zh-Hans")
    return needed


def missing_scripts(language: Language, context: object, covered: dict[Language, list[str]]) -> list[Language]:
    """Languages the notice needs but no installed font covers."""
    needed = scripts_needed(language, _strings(context))
    missing = []
    for script in sorted(needed):
        if covered.get(script):
            continue
        # Han text outside a Chinese letter is fine with either Chinese font.
        if script == "zh-Hans" and language != "zh-Hans" and covered.get("zh-Hant"):
            continue
        missing.append(script)
    return missing
