"""Lean "core" copies of the Chinese fonts, so that each notice embeds its glyphs quickly.

WeasyPrint subsets the font of every notice anew and keeps glyph ids, so its cost grows
with the size of the source font: Noto Sans CJK (a 20 MB collection of 65 000 glyphs)
costs about 100 ms and 300 KB per Chinese notice. A copy cut down to the characters
business letters use (GB 2312 for Simplified, Big5 level 1 for Traditional, our
catalogs, Latin and punctuation) saves about 40 % of the time and 60 % of the size.
Characters outside it fall through to the next family in the stylesheet, the full
system font, so coverage is unchanged.

The copies are made once with HarfBuzz's subsetter (libharfbuzz-subset0, which
WeasyPrint needs anyway), in a second or two, and kept in a cache folder under a name
that hashes their inputs; workers that start together write them atomically.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from renewals.domain.notices.context import Language
from renewals.domain.notices.fonts import font_file

log = logging.getLogger(__name__)

# Bump when the character sets below change, so cached copies are rebuilt.
CHARSET_VERSION = "2"
_LAYOUT_FEATURE_TAG_SET = 6  # HB_SUBSET_SETS_LAYOUT_FEATURE_TAG
_NO_HINTING = 0x1  # HB_SUBSET_FLAGS_NO_HINTING


@dataclass(frozen=True, slots=True)
class CoreFont:
    language: Language
    family: str
    """The family name the stylesheet asks for (see print.css)."""
    source_family: str


CORE_FONTS = (
    CoreFont("zh-Hans", "Notice Core SC", "Noto Sans CJK SC"),
    CoreFont("zh-Hant", "Notice Core TC", "Noto Sans CJK TC"),
)
WEIGHTS = {"normal": "Regular", "bold": "Bold"}


def _common() -> set[int]:
    ranges = [
        (0x20, 0x7E),
        (0xA0, 0x24F),
        (0x2000, 0x206F),
        (0x20A0, 0x20BF),
        (0x2100, 0x218F),
        (0x2190, 0x21FF),
        (0x2460, 0x24FF),
        (0x3000, 0x303F),
        (0xFE30, 0xFE4F),
        (0xFF00, 0xFFEF),
    ]
    return {cp for low, high in ranges for cp in range(low, high + 1)}


def _decodable(codec: str, leads: Iterable[int], trails: Iterable[int]) -> set[int]:
    out: set[int] = set()
    trail_bytes = list(trails)
    for lead in leads:
        for trail in trail_bytes:
            try:
                text = bytes([lead, trail]).decode(codec)
            except UnicodeDecodeError:
                continue
            out.update(ord(ch) for ch in text)
    return out


@cache
def charset(language: Language) -> frozenset[int]:
    """The characters a core copy keeps: the everyday set of the script, plus Latin."""
    if language == "zh-Hans":
        # All of GB 2312 (6 763 hanzi): level 1 alone misses common given names (婷), and a
        # fallback to the full font costs more than the larger copy (measured).
        chars = _decodable("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
    elif language == "zh-Hant":
        # Big5 symbols and level 1 (5 401 frequent hanzi); all of Big5 doubles the copy and
        # made every Traditional notice ~20 % slower and 50 % larger (measured).
        chars = _decodable("big5", range(0xA1, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    else:
        chars = set()
    return frozenset(chars | _common())


# --- HarfBuzz through ctypes: only the stable C API ---------------------------------


@cache
def _harfbuzz() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    hb = ctypes.CDLL("libharfbuzz.so.0")
    hbs = ctypes.CDLL("libharfbuzz-subset.so.0")
    p = ctypes.c_void_p
    hb.hb_blob_create_from_file_or_fail.restype = p
    hb.hb_blob_create_from_file_or_fail.argtypes = [ctypes.c_char_p]
    hb.hb_face_create.restype = p
    hb.hb_face_create.argtypes = [p, ctypes.c_uint]
    hb.hb_face_reference_blob.restype = p
    hb.hb_face_reference_blob.argtypes = [p]
    hb.hb_blob_get_data.restype = p
    hb.hb_blob_get_data.argtypes = [p, ctypes.POINTER(ctypes.c_uint)]
    hb.hb_set_add.argtypes = [p, ctypes.c_uint32]
    hb.hb_set_clear.argtypes = [p]
    hb.hb_set_invert.argtypes = [p]
    hb.hb_blob_destroy.argtypes = [p]
    hb.hb_face_destroy.argtypes = [p]
    hb.hb_version_string.restype = ctypes.c_char_p
    hbs.hb_subset_input_create_or_fail.restype = p
    hbs.hb_subset_input_unicode_set.restype = p
    hbs.hb_subset_input_unicode_set.argtypes = [p]
    hbs.hb_subset_input_set.restype = p
    hbs.hb_subset_input_set.argtypes = [p, ctypes.c_int]
    hbs.hb_subset_input_set_flags.argtypes = [p, ctypes.c_uint]
    hbs.hb_subset_or_fail.restype = p
    hbs.hb_subset_or_fail.argtypes = [p, p]
    hbs.hb_subset_input_destroy.argtypes = [p]
    return hb, hbs


def harfbuzz_version() -> str:
    hb, _ = _harfbuzz()
    return (hb.hb_version_string() or b"?").decode()


def subset(path: Path, index: int, codepoints: Iterable[int]) -> bytes:
    """A copy of one face keeping the given characters, every layout feature, no hinting."""
    hb, hbs = _harfbuzz()
    blob = hb.hb_blob_create_from_file_or_fail(str(path).encode())
    if not blob:
        raise OSError(f"cannot read font {path}")
    face = hb.hb_face_create(blob, index)
    request = hbs.hb_subset_input_create_or_fail()
    result = out_blob = None
    try:
        unicodes = hbs.hb_subset_input_unicode_set(request)
        for cp in sorted(codepoints):
            hb.hb_set_add(unicodes, cp)
        features = hbs.hb_subset_input_set(request, _LAYOUT_FEATURE_TAG_SET)
        hb.hb_set_clear(features)
        hb.hb_set_invert(features)  # keep all OpenType features (locl, vert, kern…)
        hbs.hb_subset_input_set_flags(request, _NO_HINTING)
        result = hbs.hb_subset_or_fail(face, request)
        if not result:
            raise OSError(f"HarfBuzz could not subset {path}#{index}")
        out_blob = hb.hb_face_reference_blob(result)
        length = ctypes.c_uint()
        data = hb.hb_blob_get_data(out_blob, ctypes.byref(length))
        return ctypes.string_at(data, length.value)
    finally:
        if out_blob:
            hb.hb_blob_destroy(out_blob)
        if result:
            hb.hb_face_destroy(result)
        hbs.hb_subset_input_destroy(request)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"renewals-notice-fonts-{os.getuid()}"


def _check_private(folder: Path) -> None:
    """Create the cache folder, or refuse one another user could have planted (it is in /tmp)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise OSError(f"font cache {folder} is not a private folder of this user")


def _cached_copy(source: Path, index: int, chars: frozenset[int], cache_dir: Path, stem: str) -> Path:
    info = source.stat()
    inputs = [str(source), str(info.st_size), str(info.st_mtime_ns), str(index), CHARSET_VERSION, harfbuzz_version()]
    inputs.append(",".join(map(str, sorted(chars))))
    key = hashlib.sha256("|".join(inputs).encode()).hexdigest()[:16]
    target = cache_dir / f"{stem}-{key}.otf"
    _check_private(cache_dir)
    if not target.exists():
        data = subset(source, index, chars)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        for stale in cache_dir.glob(f"{stem}-*.otf"):  # copies of an older font or charset
            if stale != target:
                stale.unlink(missing_ok=True)
    return target


def core_font_faces(cache_dir: Path, extra_text: dict[Language, str]) -> dict[Path, tuple[str, str]]:
    """Make (or find) the core copies; return {file: (family, CSS weight)} for @font-face.

    `extra_text` adds characters per language (the catalogs' translations). A copy that
    cannot be made is skipped with a warning: notices then use the full system font.
    """
    faces: dict[Path, tuple[str, str]] = {}
    for core in CORE_FONTS:
        chars = charset(core.language) | {ord(ch) for ch in extra_text.get(core.language, "")}
        for weight, style in WEIGHTS.items():
            found = font_file(core.source_family, style)
            if found is None:
                continue
            source, index = found
            stem = f"{core.family.replace(' ', '')}-{style}"
            try:
                faces[_cached_copy(source, index, frozenset(chars), cache_dir, stem)] = (core.family, weight)
            except OSError as exc:
                log.warning("no core copy of %s %s (%s); using the full font", core.source_family, style, exc)
    return faces


def font_face_css(faces: dict[Path, tuple[str, str]]) -> str:
    rules = []
    for path, (family, weight) in sorted(faces.items()):
        rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{path.as_uri()}"); }}')
    return "\n".join(rules)
