"""The o200k_base encoding (every current OpenAI chat model's), loaded from the install.

tiktoken downloads an encoding's BPE file the first time it is asked for one, which
fails offline or behind a firewall and then leaves token counts estimated. The file
ships with this package instead (`encodings/o200k_base.tiktoken.gz`, OpenAI's file gzipped)
and is checked against the SHA-256 tiktoken itself checks, so counts are exact with no
network. tests/test_tokens.py compares the result with tiktoken's own encoding.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from importlib import resources

import tiktoken

NAME = "o200k_base"
# From tiktoken_ext/openai_public.py (tiktoken 0.14): the file's hash, its split pattern
# and its special tokens.
SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}


class EncodingDataError(Exception):
    """The packaged BPE file is missing or not OpenAI's: the install is damaged."""


def load_o200k_base() -> tiktoken.Encoding:
    """Blocking (a few hundred milliseconds of CPU): run it off the event loop."""
    try:
        packed = resources.files(__package__).joinpath(f"encodings/{NAME}.tiktoken.gz").read_bytes()
        data = gzip.decompress(packed)
    except (OSError, EOFError) as error:
        raise EncodingDataError(f"{NAME} data unreadable ({type(error).__name__})") from None
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise EncodingDataError(f"{NAME} data does not match OpenAI's file")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        NAME, pat_str=PATTERN, mergeable_ranks=ranks, special_tokens=SPECIAL_TOKENS
    )
