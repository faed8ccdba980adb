"""Render a notice from its plain context to PDF bytes: Jinja2 → HTML → WeasyPrint → PDF.

Construct one `Renderer` per process and keep it: it compiles the templates once per
language, parses the stylesheet once and reuses one WeasyPrint font configuration, so
fonts stay loaded between notices. Rendering is a pure function of (kind, language,
context): the PDF carries the issue date, not the clock, and its identifier is a hash of
its content, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname
from xml.etree import ElementTree

import cssselect2  # type: ignore[import-untyped]
import jinja2
from babel.support import Translations
from markupsafe import Markup, escape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from renewals.domain.notices import corefonts, fonts
from renewals.domain.notices.context import LANGUAGES, Language
from renewals.domain.notices.i18n import Formatter, catalog_text, load_translations, page_counter_css
from renewals.domain.notices.kinds import KINDS, REGISTRY, TEMPLATES_DIR
from renewals.domain.notices.labels import BILLING_CYCLES, ENTRY_KINDS, bucket_labeller, method_label, whole
from renewals.errors import FontMissing, NoticeRenderFailed, ValidationFailed

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES_DIR = TEMPLATES_DIR


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is used."""
    return message


PAGE_COUNTER = N_("Page %(page)s of %(pages)s")


@dataclass(frozen=True, slots=True)
class RenderedPdf:
    data: bytes
    sha256: str
    size: int
    pages: int


@dataclass(frozen=True, slots=True)
class _Locale:
    env: jinja2.Environment
    translations: Translations
    fmt: Formatter


class LocalFileFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
    """Let WeasyPrint read local files under the allowed roots, and nothing else.

    Anything else (http, ftp, data URLs, files elsewhere) stops the rendering, so a notice
    never silently lacks its logo and never reaches the network.
    """

    def __init__(self, allowed: Iterable[Path]) -> None:
        super().__init__(allowed_protocols=("file",), fail_on_errors=True)
        self.allowed = tuple(path.resolve() for path in allowed)

    def is_allowed(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if any(path == root or path.is_relative_to(root) for root in self.allowed):
            return path
        return None

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        path = self.is_allowed(url)
        if path is None:
            raise PermissionError(f"refused to fetch {url}: only local files under {self._roots()}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type})

    def _roots(self) -> str:
        return ", ".join(str(p) for p in self.allowed)


class LetterHTML(HTML):  # type: ignore[misc]  # weasyprint is untyped
    """A notice's HTML, as WeasyPrint's `HTML(string=…)` reads it, but quicker:

    * parsed by the C XML parser when it is well-formed, as the notice templates write it (void
      elements closed, explicit `tbody`, character references only), giving the same element tree
      as WeasyPrint's pure-Python HTML5 parser in ~2 % of its time (~6 % of a notice); anything
      else (a control character in free text) goes through the HTML5 parser;
    * styled with our own user-agent stylesheet (`ua.css`: the defaults of the elements notices
      use) instead of WeasyPrint's, whose universal pseudo-element and attribute rules are matched
      against every element and cost about a fifth of a notice.
    """

    def __init__(self, *, string: str, base_url: str, url_fetcher: URLFetcher, user_agent: CSS) -> None:
        try:
            root = parse_letter(string)
        except ElementTree.ParseError:
            super().__init__(string=string, base_url=base_url, url_fetcher=url_fetcher)
        else:
            # What HTML.__init__ sets, from our tree (notices have no <base>: the URL is ours).
            self.base_url = base_url
            self.url_fetcher = url_fetcher
            self.media_type = "print"
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element
        self._user_agent = [user_agent]

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return self._user_agent


_DOCTYPE = "<!DOCTYPE html>"


def parse_letter(html: str) -> ElementTree.Element:
    """The element tree of a notice's well-formed HTML; ParseError for anything else, including any
    markup declaration but the leading doctype (so no DTD and no entity is ever read: free text is
    escaped by the templates, and a declaration can only come from a template)."""
    body = html.lstrip().removeprefix(_DOCTYPE)
    if "<!" in body:
        raise ElementTree.ParseError("markup declarations are left to the HTML parser")
    return ElementTree.fromstring(body)  # noqa: S314  # no DTD, checked above


class Renderer:
    """Renders notices; one per process, reused for every notice (thread-safe, serialised).

    `allowed_files` are the files or folders besides the templates that notices may
    embed: the letterhead logo. Construction asks fontconfig which scripts the installed
    fonts cover; `render` refuses (FontMissing) a notice whose script none covers.
    """

    def __init__(
        self,
        templates_dir: Path | None = None,
        *,
        allowed_files: Iterable[Path] = (),
        font_cache_dir: Path | None = None,
        core_fonts: bool = True,
        warm: bool = True,
    ) -> None:
        self.templates_dir = (templates_dir or DEFAULT_TEMPLATES_DIR).resolve()
        if not (self.templates_dir / "base.html").is_file():
            raise FileNotFoundError(f"notice templates not found in {self.templates_dir}")
        font_cache = (font_cache_dir or corefonts.default_cache_dir()).resolve()
        self._base_url = self.templates_dir.as_uri() + "/"
        self._fetcher = LocalFileFetcher([self.templates_dir, font_cache, *allowed_files])
        self._font_config = FontConfiguration()
        self._user_agent = CSS(
            filename=str(self.templates_dir / "ua.css"), url_fetcher=self._fetcher, font_config=self._font_config
        )
        self._stylesheets = [
            CSS(
                filename=str(self.templates_dir / "print.css"),
                url_fetcher=self._fetcher,
                font_config=self._font_config,
            )
        ]
        if core_fonts:
            faces = corefonts.core_font_faces(font_cache, {lang: catalog_text(lang) for lang in LANGUAGES})
            if faces:
                self._stylesheets.append(
                    CSS(
                        string=corefonts.font_face_css(faces),
                        url_fetcher=self._fetcher,
                        font_config=self._font_config,
                    )
                )
        self.font_coverage = fonts.coverage()
        # Parsed images (the logo) by URL, kept across notices like the fonts.
        self._image_cache: dict[str, Any] = {}
        self._lock = threading.Lock()
        loader = jinja2.FileSystemLoader(self.templates_dir)
        # One environment per language: gettext is installed on the environment, and a
        # shared one would let two threads swap each other's language.
        self._locales = {language: self._locale(loader, language) for language in LANGUAGES}
        if warm:
            self.warm_up()

    def _locale(self, loader: jinja2.BaseLoader, language: Language) -> _Locale:
        env = jinja2.Environment(
            loader=loader,
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        translations = load_translations(language)
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        fmt = Formatter(language)
        # Amounts, dates and numbers come out as unbreakable spans: never split across lines.
        env.filters.update(
            date=_strict(whole(fmt.date)),
            money=_strict(whole(fmt.money)),
            number=_strict(whole(fmt.number)),
            percent=_strict(whole(fmt.percent)),
            dates=_strict(lambda days: _joined(fmt, [whole(fmt.date)(day) for day in days])),
        )
        gettext = translations.gettext
        env.globals.update(
            lang=language,
            # Our own catalog text, quoted and escaped as CSS strings by page_counter_css.
            page_counter=Markup(page_counter_css(gettext(PAGE_COUNTER))),  # noqa: S704
            cycle_label=lambda key: gettext(BILLING_CYCLES[key]),
            entry_label=lambda key: gettext(ENTRY_KINDS[key]),
            method_label=lambda code: method_label(translations, code),
            bucket_label=bucket_labeller(translations),
            col_width=column_width,
        )
        return _Locale(env=env, translations=translations, fmt=fmt)

    def usable_languages(self) -> list[Language]:
        """Languages whose script some installed font covers."""
        return [language for language in LANGUAGES if self.font_coverage.get(language)]

    def warm_up(self) -> None:
        """Load every template and the fonts of every usable language, regular and bold."""
        samples = {"en": "Renewal", "zh-Hans": "续约通知", "zh-Hant": "續約通知", "ko": "갱신 안내"}
        for language in self.usable_languages():
            for kind in REGISTRY.values():
                self._locales[language].env.get_template(kind.template)
            text = samples[language]
            html = f'<html lang="{language}"><body><p>{text}</p><p><b>{text} 1234</b></p></body></html>'
            self._pdf(html)

    def render(self, kind: str, language: str, context: Mapping[str, Any]) -> RenderedPdf:
        """Render one notice to PDF.

        Raises ValidationFailed for an unknown kind or language, FontMissing when no font
        covers the notice's script, and NoticeRenderFailed when the context lacks a key or
        the notice refers to a file it may not read (remote URLs included).
        """
        return self._pdf(self.html(kind, language, context))

    def html(self, kind: str, language: str, context: Mapping[str, Any]) -> str:
        """The HTML a notice is typeset from; raises as `render` does, except for files."""
        if kind not in KINDS:
            raise ValidationFailed("kind", f"unknown notice kind {kind!r}; one of {', '.join(KINDS)}")
        if language not in LANGUAGES:
            raise ValidationFailed("language", f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")
        kind_ = REGISTRY[kind]
        language_: Language = language
        missing = fonts.missing_scripts(language_, context, self.font_coverage)
        if missing:
            packages = sorted({fonts.DEBIAN_PACKAGES[script] for script in missing})
            raise FontMissing(
                f"no installed font covers the {', '.join(missing)} text of this notice; install "
                f"{' and '.join(packages)} (see system-packages.txt) and restart the worker",
                extra={"languages": missing, "packages": packages},
            )
        locale = self._locales[language_]
        try:
            view = kind_.view(context, locale)
            view.update(kind=kind, logo_url=self._logo_url(context["letterhead"]["logo_path"]))
            html = locale.env.get_template(kind_.template).render(view)
        except jinja2.UndefinedError as exc:
            raise NoticeRenderFailed(f"{kind} context is incomplete: {exc.message}") from exc
        except KeyError as exc:
            raise NoticeRenderFailed(f"{kind} context is incomplete: missing key {exc}") from exc
        html = _REDUNDANT_NOWRAP.sub(r"\1\2\3", html)
        if language_ == "ko":
            html = keep_korean_words(html)
        return html

    def _logo_url(self, logo: str | None) -> str | None:
        if not logo:
            return None
        if "://" in logo:
            return logo  # not a path: the fetcher will refuse it unless it is an allowed file URL
        return Path(logo).resolve().as_uri()

    def _pdf(self, html: str) -> RenderedPdf:
        with self._lock:
            try:
                document = LetterHTML(
                    string=html, base_url=self._base_url, url_fetcher=self._fetcher, user_agent=self._user_agent
                ).render(font_config=self._font_config, stylesheets=self._stylesheets, cache=self._image_cache)
                # pdf_identifier=True: the file ID is an MD5 of the content, not random.
                data: bytes = document.write_pdf(pdf_identifier=True)
            except FatalURLFetchingError as exc:
                raise NoticeRenderFailed(str(exc.__cause__ or exc)) from exc
        return RenderedPdf(
            data=data, sha256=hashlib.sha256(data).hexdigest(), size=len(data), pages=len(document.pages)
        )


# An unbreakable span that is the whole of a cell already set without wrapping (`td.num`,
# `td.nw`): one inline box less per figure, ~6 % of a notice's rendering.
_REDUNDANT_NOWRAP = re.compile(r'(<td class="(?:num|nw)">)<span class="nw">([^<]*)</span>(</td>)')

# Two Hangul syllables in a row, outside any tag.
_HANGUL_PAIR = re.compile(r"(?<=[\uac00-\ud7a3])(?=[\uac00-\ud7a3])")
_WORD_JOINER = "\u2060"


def keep_korean_words(html: str) -> str:
    """Make each Korean word of the body unbreakable: Korean breaks lines between words, and
    WeasyPrint (Pango) would otherwise break between any two syllables (`word-break: keep-all`
    is not implemented). A WORD JOINER (U+2060, invisible, no glyph) between the syllables of a
    word forbids the break at no layout cost; tags hold no Hangul but attribute values, which
    are left alone."""
    head, marker, body = html.partition("<body")
    if not marker:
        return html
    parts = re.split(r"(<[^>]*>)", body)
    return (
        head
        + marker
        + "".join(part if part.startswith("<") else _HANGUL_PAIR.sub(_WORD_JOINER, part) for part in parts)
    )


# Advance widths in em, rounded up over the fonts the notices use (Liberation Sans and Noto Sans
# CJK / NanumGothic, bold, where digits are 0.55-0.6 em): an estimate that must never be short,
# since a column too narrow for an unbreakable value would let it run into the next column.
_NARROW = frozenset(",.:;'|!il()[]/ \u00a0\u202f")
_CJK_OR_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uffef\u20a9]")
_CELL_PADDING_EM = 1.3  # 2 × 1.6 mm of padding at 8.5 pt, and some slack


def _text_em(text: str) -> float:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 0.35
        elif _CJK_OR_WIDE.match(char) or not char.isascii():
            width += 1.0
        elif char.isupper() or char in "mwMW%@":
            width += 0.9 if char in "mwMW%@" else 0.75
        else:
            width += 0.62
    return width


def column_width(header: str, values: Iterable[object]) -> str:
    """The CSS width of a table column of unbreakable values under a header that may wrap: as
    wide as its widest value, its header's widest word and half its header, so that the table can be laid out
    fixed (the automatic layout measures every cell twice and costs a quarter of a notice)."""
    texts = (value.striptags() if isinstance(value, Markup) else str(value) for value in values)
    widest = max((_text_em(text) for text in texts), default=0.0)
    label = header.unescape() if isinstance(header, Markup) else header
    word = max((_text_em(w) for w in label.split()), default=0.0)
    # The header on two lines at most, breaking only between words (a Chinese header stays whole).
    return f"{max(widest, word, _text_em(label) / 2) + _CELL_PADDING_EM:.2f}em"


def _strict(filter_: Callable[..., str]) -> Callable[..., str]:
    """A filter that fails on an undefined argument, as StrictUndefined does everywhere else."""

    def checked(*args: Any) -> str:
        for arg in args:
            if isinstance(arg, jinja2.Undefined):
                arg._fail_with_undefined_error()
        return filter_(*args)

    return checked


def _joined(fmt: Formatter, parts: list[Markup]) -> Markup:
    """`a, b and c` in the locale's words, the parts kept as markup."""
    placeholders = [f"\x00{i}\x00" for i in range(len(parts))]
    out = str(escape(fmt.join(placeholders)))
    for placeholder, part in zip(placeholders, parts, strict=True):
        out = out.replace(placeholder, str(part))
    return Markup(out)  # noqa: S704  # escaped above, parts are our own markup
