"""CLIP prompt ids with Face0's truncation, for training; src/text/tokenizer.ts is the app's counterpart.

Wraps transformers' CLIPTokenizer (the golden reference for the TypeScript tokenizer). Face0 overwrites the
last context positions with the face tokens, so a prompt keeps at most min(face_positions) - 2 BPE tokens
(72 for positions 74..76): start-of-text + tokens + end-of-text end before the first face position.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from transformers import CLIPTokenizer

# Face0 paper: the face tokens override tokens 75-77 (1-based) of the 77-token CLIP context.
FACE_TOKEN_POSITIONS = (74, 75, 76)
MAX_LENGTH = 77
# Lines 1..48894 of bpe_simple_vocab_16e6.txt (after its version header) are the merges CLIP uses.
CLIP_NUM_MERGES = 48894
START_OF_TEXT = "<|startoftext|>"
END_OF_TEXT = "<|endoftext|>"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table, in CLIP's order (printable bytes first)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    for n, b in enumerate(b for b in range(256) if b not in table):
        table[b] = chr(256 + n)
    return table


def clip_vocab_and_merges(bpe_gz: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """vocab and merges from OpenAI's bpe_simple_vocab_16e6.txt.gz, the standard CLIP recipe."""
    lines = gzip.decompress(Path(bpe_gz).read_bytes()).decode("utf-8").split("\n")
    merges = [tuple(line.split(" ")) for line in lines[1 : CLIP_NUM_MERGES + 1]]
    if not lines[0].startswith('"bpe_simple_vocab_16e6.txt#version') or any(len(m) != 2 for m in merges):
        raise ValueError(f"{bpe_gz}: not OpenAI CLIP's bpe_simple_vocab_16e6.txt.gz")
    symbols = list(_bytes_to_unicode().values())
    tokens = [
        *symbols,
        *(s + "</w>" for s in symbols),
        *("".join(m) for m in merges),
        START_OF_TEXT,
        END_OF_TEXT,
    ]
    return {t: i for i, t in enumerate(tokens)}, merges


@dataclass(frozen=True)
class PromptEncoding:
    input_ids: np.ndarray  # (max_length,) int64: bos + kept tokens + eos, padded with pad_id
    token_count: int  # BPE tokens kept
    max_tokens: int
    remaining: int
    truncated: bool


class Face0Tokenizer:
    def __init__(
        self,
        tokenizer: CLIPTokenizer,
        face_positions: Sequence[int] = FACE_TOKEN_POSITIONS,
        max_length: int = MAX_LENGTH,
    ):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.max_tokens = min([max_length, *face_positions]) - 2
        self.bos_id = tokenizer.bos_token_id
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id

    @classmethod
    def from_vocab_files(cls, vocab_json: Path, merges_txt: Path, **kwargs) -> Face0Tokenizer:
        """Hugging Face files, e.g. ../shared/data/clip/vocab.json and merges.txt (from the repository)."""
        return cls(CLIPTokenizer(str(vocab_json), str(merges_txt), pad_token=END_OF_TEXT), **kwargs)

    @classmethod
    def from_bpe_gz(cls, bpe_gz: Path, **kwargs) -> Face0Tokenizer:
        """OpenAI's bpe_simple_vocab_16e6.txt.gz, the file a bundle ships as tokenizer.vocab_file."""
        vocab, merges = clip_vocab_and_merges(bpe_gz)
        return cls(CLIPTokenizer(vocab=vocab, merges=merges, pad_token=END_OF_TEXT), **kwargs)

    def encode(self, text: str) -> list[int]:
        """BPE ids without start/end-of-text."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode_prompt(self, text: str) -> PromptEncoding:
        return self._prompt_encoding(self.encode(text))

    def _prompt_encoding(self, tokens: list[int]) -> PromptEncoding:
        kept = tokens[: self.max_tokens]
        ids = np.full(self.max_length, self.pad_id, dtype=np.int64)
        ids[: len(kept) + 2] = [self.bos_id, *kept, self.eos_id]
        return PromptEncoding(
            input_ids=ids,
            token_count=len(kept),
            max_tokens=self.max_tokens,
            remaining=max(0, self.max_tokens - len(tokens)),
            truncated=len(tokens) > self.max_tokens,
        )

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), max_length) int64 input_ids for the text encoder."""
        # One batched call: the per-call overhead of the Hugging Face tokenizer dominates short captions.
        batch = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
        return np.stack([self._prompt_encoding(tokens).input_ids for tokens in batch])
