"""RTF documents, read by a one-pass tokenizer: text in the document's code pages and its
Unicode escapes, groups that hold no text skipped, and each hyperlink's target kept after
its text, all within the budget.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass

from untrusted.documents.common import (
    Budget,
    Collected,
    DocumentUnreadable,
    Enough,
    ExtractedDocument,
    finish,
    keep,
)

MAX_RTF_BYTES = 5 * 2**20

# RTF, in one pass over its tokens. A third-party reader (striprtf) ran regular expressions
# that took over a minute on 60 KB of nested fields; this tokenizer's pattern has no nested
# repetition, so it is linear.
_RTF_TOKEN = re.compile(
    r"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # control word, its parameter and delimiting space
    r"|\\'([0-9a-fA-F]{2})"  # a byte in the document's code page
    r"|\\(.)"  # control symbol
    r"|([{}])"
    r"|[\r\n]+"  # line breaks in the source are not text
    r"|([^\\{}\r\n]+)"  # text
    r"|\\",  # a backslash ending the file
    re.DOTALL,
)
# Groups whose content is not text. A `\*` group is skipped too, whatever it holds.
_RTF_SKIPPED = frozenset(
    {
        "annotation", "atnauthor", "atndate", "atnid", "atnref", "author", "bkmkend",
        "bkmkstart", "blipuid", "category", "colorschememapping", "colortbl", "comment",
        "company", "creatim", "datafield", "datastore", "defchp", "defpap", "do", "doccomm",
        "docvar", "factoidname", "falt", "fchars", "ffdeftext", "ffentrymcr", "ffexitmcr",
        "ffformat", "ffhelptext", "ffl", "ffname", "ffstattext", "file", "filetbl", "fldinst",
        "fldtype", "fname", "fontemb", "fontfile", "fonttbl", "footer", "footerf", "footerl",
        "footerr", "footnote", "formfield", "generator", "header", "headerf", "headerl",
        "headerr", "info", "keywords", "latentstyles", "levelnumbers", "leveltext", "list",
        "listoverridetable", "listpicture", "listtable", "manager", "nesttableprops",
        "nonesttables", "objclass", "objdata", "object", "objname", "operator", "panose",
        "password", "passwordhash", "pgptbl", "picprop", "pict", "pn", "pntext", "pntxta",
        "pntxtb", "printim", "private", "propname", "revtbl", "revtim", "rsidtbl", "shp",
        "shpinst", "stylesheet", "subject", "template", "themedata", "title", "userprops",
        "xmlnstbl",
    }
)  # fmt: skip
_RTF_TEXT = {
    "par": "\n", "line": "\n", "sect": "\n\n", "page": "\n\n", "row": "\n", "cell": " | ",
    "nestcell": " | ", "tab": "\t", "emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022",
    "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d",
    "emspace": "\u2003", "enspace": "\u2002", "qmspace": "\u2005",
}  # fmt: skip
_RTF_SYMBOLS = {
    "\\": "\\", "{": "{", "}": "}", "~": "\xa0", "_": "\u2011", "\n": "\n", "\r": "\n",
}  # fmt: skip
# \fcharsetN -> code page of that font's \'hh bytes.
_RTF_CHARSETS = {
    77: "mac_roman", 128: "cp932", 129: "cp949", 134: "gbk", 136: "cp950", 161: "cp1253",
    162: "cp1254", 163: "cp1258", 177: "cp1255", 178: "cp1256", 186: "cp1257", 204: "cp1251",
    222: "cp874", 238: "cp1250", 254: "cp437", 255: "cp850",
}  # fmt: skip
_RTF_HYPERLINK = re.compile(r'HYPERLINK\s+"([^"]{1,2000})"')
_RTF_INSTRUCTION_CHARS = 2100  # of a field's instruction: enough for a HYPERLINK


@dataclass(frozen=True)
class _RtfGroup:
    skip: bool = False  # the group's content is not text
    uc: int = 1  # characters of fallback that follow each \uN
    font: int | None = None


class _RtfReader:
    """The text of an RTF document, token by token, within the budget."""

    def __init__(self, raw: str, text_codec: str, budget: Budget) -> None:
        self._out: list[str] = []
        self._raw = raw
        self._text_codec = text_codec  # for bytes written unescaped in the file
        self._budget = budget
        self._codepage = "cp1252"
        self._fonts: dict[int, str] = {}
        self._font_defined: int | None = None
        self._group = _RtfGroup()
        self._stack: list[_RtfGroup] = []
        self._hex = bytearray()  # consecutive \'hh bytes: one multi-byte character may span them
        self._fallback = 0  # fallback characters still to skip after a \uN
        self._fields: list[tuple[int, list[str]]] = []  # open \field groups: depth, links
        self._instruction: Collected | None = None  # start of the \fldinst being read
        self._instruction_depth = 0

    def read(self) -> str:
        with contextlib.suppress(Enough):
            self._read()
        text = "".join(self._out)
        if any("\ud800" <= ch <= "\udfff" for ch in text):  # \uN pairs of UTF-16 halves
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return text

    def _read(self) -> None:
        pos = 0
        end = len(self._raw)
        while pos < end:
            match = _RTF_TOKEN.match(self._raw, pos)
            assert match is not None  # the pattern matches at any character
            pos = match.end()
            word, arg, hexbyte, symbol, brace, text = match.groups()
            if hexbyte is None:
                self._flush_hex()
            if word is not None:
                pos = self._control(word, arg, pos)
            elif hexbyte is not None:
                self._hexbyte(hexbyte)
            elif symbol is not None:
                self._symbol(symbol)
            elif brace is not None:
                self._brace(brace)
            elif text is not None:
                self._text(text)
        self._flush_hex()

    def _emit(self, text: str) -> None:
        if self._instruction is not None:
            self._instruction.add(text)
        elif not self._group.skip:
            keep(self._out, text, self._budget)

    def _control(self, word: str, arg: str | None, pos: int) -> int:
        """Handles one control word; returns where reading goes on (after \\bin data)."""
        self._budget.element()
        self._fallback = 0
        number = int(arg) if arg is not None else None
        if word == "bin":  # raw bytes follow, which are not tokens
            return pos + max(0, number or 0)
        if word in _RTF_SKIPPED:
            self._group = _RtfGroup(True, self._group.uc, self._group.font)
            if word == "fldinst" and self._fields:
                self._instruction = Collected(_RTF_INSTRUCTION_CHARS)
                self._instruction_depth = len(self._stack)
        elif word == "field":
            self._fields.append((len(self._stack), []))
        elif word == "ansicpg" and number is not None:
            with contextlib.suppress(LookupError):
                self._codepage = codecs.lookup(f"cp{number}").name
        elif word == "f" and number is not None:
            self._font_defined = number
            self._group = _RtfGroup(self._group.skip, self._group.uc, number)
        elif word == "fcharset" and number in _RTF_CHARSETS and self._font_defined is not None:
            self._fonts[self._font_defined] = _RTF_CHARSETS[number]
        elif word == "uc" and number is not None:
            self._group = _RtfGroup(self._group.skip, max(0, number), self._group.font)
        elif word == "u" and number is not None:
            self._emit(chr(number % 0x10000))
            self._fallback = self._group.uc
        elif word in _RTF_TEXT:
            self._emit(_RTF_TEXT[word])
        return pos

    def _symbol(self, symbol: str) -> None:
        self._budget.element()
        self._fallback = 0
        if symbol == "*":
            self._group = _RtfGroup(True, self._group.uc, self._group.font)
        elif symbol in _RTF_SYMBOLS:
            self._emit(_RTF_SYMBOLS[symbol])

    def _brace(self, brace: str) -> None:
        self._budget.element()
        self._fallback = 0
        if brace == "{":
            self._stack.append(self._group)
            return
        if self._stack:
            self._group = self._stack.pop()
        depth = len(self._stack)
        if self._instruction is not None and depth < self._instruction_depth:
            found = _RTF_HYPERLINK.search(self._instruction.text())
            if found is not None:
                self._fields[-1][1].append(found.group(1))
            self._instruction = None
        if self._fields and depth < self._fields[-1][0]:
            _, links = self._fields.pop()
            for link in links:
                self._emit(f" ({link})")

    def _hexbyte(self, hexbyte: str) -> None:
        self._budget.element()
        if self._fallback > 0:
            self._fallback -= 1
        else:
            self._hex.append(int(hexbyte, 16))

    def _flush_hex(self) -> None:
        if self._hex:
            font = self._group.font
            codec = self._codepage if font is None else self._fonts.get(font, self._codepage)
            self._emit(bytes(self._hex).decode(codec, errors="replace"))
            self._hex.clear()

    def _text(self, text: str) -> None:
        if self._fallback > 0:
            skipped = min(self._fallback, len(text))
            self._fallback -= skipped
            text = text[skipped:]
        if text:
            self._emit(text.encode("latin-1").decode(self._text_codec, errors="replace"))


def extract_rtf(name: str, kind: str, language: str, data: bytes) -> ExtractedDocument:
    if not data.lstrip().startswith(b"{\\rtf"):
        if not data.strip():
            raise DocumentUnreadable("it is empty")
        raise DocumentUnreadable("it looks damaged")
    if len(data) > MAX_RTF_BYTES:
        raise DocumentUnreadable(f"it is larger than {MAX_RTF_BYTES // 2**20} MB for an RTF file")
    try:
        data.decode("utf-8")
        text_codec = "utf-8"
    except UnicodeDecodeError:
        text_codec = "cp1252"
    budget = Budget()
    # Latin-1 maps each byte to one character, so tokens are found on the bytes as written.
    text = _RtfReader(data.decode("latin-1"), text_codec, budget).read()
    return finish(name, kind, text, [], rest=budget.rest)
