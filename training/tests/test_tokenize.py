import json
from pathlib import Path

import numpy as np
import pytest

from face0.tokenize import CLIP_NUM_MERGES, Face0Tokenizer, clip_vocab_and_merges

CLIP_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "clip"
GOLDEN = json.loads((CLIP_DIR / "golden_token_ids.json").read_text(encoding="utf-8"))
CASES = GOLDEN["cases"]


@pytest.fixture(scope="module", params=["bpe_gz", "vocab_files"])
def tok(request) -> Face0Tokenizer:
    if request.param == "bpe_gz":
        return Face0Tokenizer.from_bpe_gz(CLIP_DIR / "bpe_simple_vocab_16e6.txt.gz")
    return Face0Tokenizer.from_vocab_files(CLIP_DIR / "vocab.json", CLIP_DIR / "merges.txt")


def test_gz_recipe_gives_the_hugging_face_files():
    vocab, merges = clip_vocab_and_merges(CLIP_DIR / "bpe_simple_vocab_16e6.txt.gz")
    assert vocab == json.loads((CLIP_DIR / "vocab.json").read_text(encoding="utf-8"))
    merges_txt = (CLIP_DIR / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
    assert len(merges) == CLIP_NUM_MERGES
    assert [" ".join(m) for m in merges] == merges_txt


def test_special_ids(tok):
    assert (tok.bos_id, tok.eos_id, tok.pad_id) == (GOLDEN["bos_id"], GOLDEN["eos_id"], GOLDEN["pad_id"])
    assert tok.max_tokens == 72


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c["text"])[:40])
def test_matches_golden(tok, case):
    bpe = case["untruncated_ids"][1:-1]
    assert tok.encode(case["text"]) == bpe
    enc = tok.encode_prompt(case["text"])
    assert enc.input_ids.shape == (77,) and enc.input_ids.dtype == np.int64
    if len(bpe) <= 72:
        assert enc.input_ids.tolist() == case["input_ids"]
    expected = [tok.bos_id, *bpe[:72], tok.eos_id]
    assert enc.input_ids.tolist() == expected + [tok.pad_id] * (77 - len(expected))
    assert (enc.token_count, enc.remaining, enc.truncated) == (
        min(len(bpe), 72),
        max(0, 72 - len(bpe)),
        len(bpe) > 72,
    )


def test_face0_truncation_keeps_eos_before_the_face_positions(tok):
    long_case = next(c for c in CASES if c["n_tokens_untruncated"] - 2 > 72)
    enc = tok.encode_prompt(long_case["text"])
    assert enc.truncated and enc.token_count == 72 and enc.remaining == 0
    assert enc.input_ids[73] == tok.eos_id
    assert enc.input_ids[1:73].tolist() == long_case["untruncated_ids"][1:73]
    assert enc.input_ids[74:].tolist() == [tok.pad_id] * 3


def test_exactly_72_tokens_fit(tok):
    assert tok.encode_prompt("cat " * 72).truncated is False
    assert tok.encode_prompt("cat " * 73).truncated is True


def test_without_face_positions_is_the_sd_convention(tok):
    sd = Face0Tokenizer(tok.tokenizer, face_positions=())
    for case in CASES:
        assert sd.encode_prompt(case["text"]).input_ids.tolist() == case["input_ids"]


def test_batch(tok):
    ids = tok(["a photo of a cat", ""])
    assert ids.shape == (2, 77) and ids.dtype == np.int64
    assert ids[1, :3].tolist() == [tok.bos_id, tok.eos_id, tok.pad_id]


def test_one_batched_call_gives_each_prompts_golden_ids(tok):
    """`tok(texts)` tokenizes the whole batch in one call; every row must still be that text's own ids,
    truncated to 72 BPE tokens before the face positions (goldens from ../shared/data/clip)."""
    ids = tok([case["text"] for case in CASES] + [""])
    for row, case in zip(ids, CASES, strict=False):
        bpe = case["untruncated_ids"][1:-1][:72]
        expected = [tok.bos_id, *bpe, tok.eos_id]
        assert row.tolist() == expected + [tok.pad_id] * (77 - len(expected))
    assert ids[-1, :3].tolist() == [tok.bos_id, tok.eos_id, tok.pad_id]
    assert any(len(case["untruncated_ids"]) - 2 > 72 for case in CASES)  # truncation is exercised
