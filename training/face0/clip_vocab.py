"""The CLIP BPE file training tokenizes with and bundles ship, the tokenizer built on it, and a run's
compact vocabulary (the BPE tokens its captions use)."""

from pathlib import Path

from face0.captions import caption_vocabulary_text
from face0.configs import CONTEXT_LENGTH, DATA_DIR
from face0.data import read_samples
from face0.models import CompactVocabulary, build_vocabulary
from face0.tokenize import Face0Tokenizer

CLIP_VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
# The BPE file training tokenizes with and bundles ship (clip_tokenizer's default).
CLIP_BPE = DATA_DIR / "clip" / CLIP_VOCAB_FILE


def clip_tokenizer(positions, bpe_gz: Path = CLIP_BPE) -> Face0Tokenizer:
    return Face0Tokenizer.from_bpe_gz(bpe_gz, face_positions=positions, max_length=CONTEXT_LENGTH)


def vocabulary_for(shards: list[Path], tokenizer, extra: list[str]) -> CompactVocabulary:
    """Every BPE token of the shards' captions, of face0.captions' phrases and of `extra`."""

    def texts():
        yield from caption_vocabulary_text()
        yield from extra
        for shard in shards:
            for _key, files in read_samples(shard):
                if "txt" in files:
                    yield files["txt"].decode("utf-8")

    return build_vocabulary(texts(), tokenizer.encode)
