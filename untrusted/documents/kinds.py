"""What kind of document a file is, decided by its name's extension first and then by its
mimetype: the kinds read (and, for source code, the language tag of its fenced block), and
the office formats refused with a reason rather than ignored.
"""

from __future__ import annotations

SUPPORTED_KINDS_TEXT = (
    "PDF, Word (.docx), Excel (.xlsx, .xls), CSV/TSV, text, Markdown, RTF, source code, logs, "
    "JSON, YAML, XML and HTML"
)

# Source code: extension -> language tag for the fenced block.
_CODE_LANGUAGES: dict[str, str] = {
    "py": "python",
    "pyi": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "ts": "typescript",
    "tsx": "tsx",
    "jsx": "jsx",
    "java": "java",
    "c": "c",
    "h": "c",
    "cpp": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "hh": "cpp",
    "cs": "csharp",
    "go": "go",
    "rs": "rust",
    "rb": "ruby",
    "php": "php",
    "sh": "bash",
    "bash": "bash",
    "zsh": "zsh",
    "ps1": "powershell",
    "sql": "sql",
    "kt": "kotlin",
    "kts": "kotlin",
    "swift": "swift",
    "scala": "scala",
    "r": "r",
    "m": "objectivec",
    "lua": "lua",
    "pl": "perl",
    "dart": "dart",
    "vue": "vue",
    "svelte": "svelte",
    "css": "css",
    "scss": "scss",
    "toml": "toml",
    "ini": "ini",
    "cfg": "ini",
    "conf": "ini",
    "env": "bash",
    "dockerfile": "dockerfile",
    "makefile": "makefile",
    "gradle": "groovy",
}
_CODE_FILE_NAMES = {"dockerfile": "dockerfile", "makefile": "makefile", "gnumakefile": "makefile"}

_EXTENSION_KINDS: dict[str, str] = {
    "pdf": "PDF",
    "docx": "Word",
    "xlsx": "Excel",
    "xlsm": "Excel",
    "xls": "Excel",
    "csv": "CSV",
    "tsv": "CSV",
    "txt": "text",
    "text": "text",
    "md": "Markdown",
    "markdown": "Markdown",
    "log": "log",
    "json": "JSON",
    "jsonl": "JSON",
    "ndjson": "JSON",
    "yaml": "YAML",
    "yml": "YAML",
    "xml": "XML",
    "html": "HTML",
    "htm": "HTML",
    "rtf": "RTF",
    **dict.fromkeys(_CODE_LANGUAGES, "code"),
}

# Document formats people attach that we refuse with a reason (rather than ignore).
REFUSED_EXTENSIONS: dict[str, str] = {
    "doc": "Word 97 (.doc) files are not supported",
    "dot": "Word 97 (.dot) templates are not supported",
    "docm": "Word files with macros (.docm) are not supported",
    "ppt": "PowerPoint (.ppt) files are not supported",
    "pptx": "PowerPoint (.pptx) files are not supported",
    "pps": "PowerPoint (.pps) files are not supported",
    "ppsx": "PowerPoint (.ppsx) files are not supported",
    "odt": "OpenDocument (.odt) files are not supported",
    "ods": "OpenDocument (.ods) files are not supported",
    "odp": "OpenDocument (.odp) files are not supported",
    "pages": "Apple Pages files are not supported",
    "numbers": "Apple Numbers files are not supported",
    "key": "Apple Keynote files are not supported",
    "epub": "e-books (.epub) are not supported",
    "xlsb": "binary Excel (.xlsb) files are not supported",
}
REFUSED_MIMETYPES: dict[str, str] = {
    "application/msword": REFUSED_EXTENSIONS["doc"],
    "application/vnd.ms-powerpoint": REFUSED_EXTENSIONS["ppt"],
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        REFUSED_EXTENSIONS["pptx"]
    ),
    "application/vnd.oasis.opendocument.text": REFUSED_EXTENSIONS["odt"],
    "application/vnd.oasis.opendocument.spreadsheet": REFUSED_EXTENSIONS["ods"],
    "application/vnd.oasis.opendocument.presentation": REFUSED_EXTENSIONS["odp"],
}

_MIMETYPE_KINDS: dict[str, str] = {
    "application/pdf": "PDF",
    "application/x-pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-excel.sheet.macroenabled.12": "Excel",
    "application/vnd.ms-excel": "Excel",
    "text/csv": "CSV",
    "application/csv": "CSV",
    "text/tab-separated-values": "CSV",
    "text/plain": "text",
    "text/markdown": "Markdown",
    "text/x-markdown": "Markdown",
    "application/json": "JSON",
    "application/x-ndjson": "JSON",
    "application/jsonl": "JSON",
    "application/yaml": "YAML",
    "application/x-yaml": "YAML",
    "text/yaml": "YAML",
    "text/x-yaml": "YAML",
    "application/xml": "XML",
    "text/xml": "XML",
    "text/html": "HTML",
    "application/xhtml+xml": "HTML",
    "application/rtf": "RTF",
    "text/rtf": "RTF",
    "text/x-log": "log",
}
# Mimetype -> language tag, for code whose name says nothing.
_MIMETYPE_CODE: dict[str, str] = {
    "text/x-python": "python",
    "text/x-script.python": "python",
    "application/x-python": "python",
    "text/javascript": "javascript",
    "application/javascript": "javascript",
    "application/x-javascript": "javascript",
    "text/typescript": "typescript",
    "application/typescript": "typescript",
    "text/x-java": "java",
    "text/x-java-source": "java",
    "text/x-c": "c",
    "text/x-csrc": "c",
    "text/x-chdr": "c",
    "text/x-c++": "cpp",
    "text/x-c++src": "cpp",
    "text/x-csharp": "csharp",
    "text/x-go": "go",
    "text/x-rust": "rust",
    "text/x-ruby": "ruby",
    "application/x-ruby": "ruby",
    "text/x-php": "php",
    "application/x-php": "php",
    "application/x-sh": "bash",
    "text/x-sh": "bash",
    "text/x-shellscript": "bash",
    "application/sql": "sql",
    "text/x-sql": "sql",
    "text/x-kotlin": "kotlin",
    "text/x-swift": "swift",
    "text/x-scala": "scala",
    "text/x-lua": "lua",
    "text/x-perl": "perl",
    "text/css": "css",
    "text/x-scss": "scss",
    "application/toml": "toml",
    "text/x-toml": "toml",
}


def extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lower()
    if "." not in base:
        return base if base in _CODE_FILE_NAMES else ""
    return base.rsplit(".", 1)[1]


def bare_mimetype(mimetype: str) -> str:
    return mimetype.split(";", 1)[0].strip().lower()


def kind_and_language(name: str, mimetype: str) -> tuple[str, str] | None:
    """The kind (and, for code, the language tag) by extension first, then by mimetype."""
    ext = extension(name)
    if ext in _EXTENSION_KINDS:
        return _EXTENSION_KINDS[ext], _CODE_LANGUAGES.get(ext, "")
    if ext in _CODE_FILE_NAMES:
        return "code", _CODE_FILE_NAMES[ext]
    if ext in REFUSED_EXTENSIONS:
        return None
    mime = bare_mimetype(mimetype)
    if mime in _MIMETYPE_KINDS:
        return _MIMETYPE_KINDS[mime], ""
    if mime in _MIMETYPE_CODE:
        return "code", _MIMETYPE_CODE[mime]
    return None


def is_document(name: str, mimetype: str) -> bool:
    """True for every kind `extract_document` reads, and for the office formats it refuses
    with a reason (.doc, .pptx, ...), so the user hears why. False for images, archives
    and other binaries."""
    if kind_and_language(name, mimetype) is not None:
        return True
    ext = extension(name)
    return ext in REFUSED_EXTENSIONS or (not ext and bare_mimetype(mimetype) in REFUSED_MIMETYPES)


def is_pdf(name: str, mimetype: str) -> bool:
    """PDFs are read with PDFium, which is not thread-safe: callers run one at a time."""
    found = kind_and_language(name, mimetype)
    return found is not None and found[0] == "PDF"
