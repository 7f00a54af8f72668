import dataclasses

import pytest
import torch

from face0.configs import CELEBA64, SD15, TINY
from face0.models import (
    CLIP_BOS_ID,
    CLIP_EOS_ID,
    COMPACT_BOS_ID,
    COMPACT_EOS_ID,
    COMPACT_UNK_ID,
    CompactVocabulary,
    build_models,
    build_vocabulary,
    insert_face_tokens,
    parameter_count,
)

# CLIP ids of "a", "photo", "of" (from "a photo of a cat" -> 320, 1125, 539, 320, 2368).
A, PHOTO, OF, CAT = 320, 1125, 539, 2368
VOCABULARY = CompactVocabulary(clip_ids=(A, OF, PHOTO))


def prompt_ids(*words: int, batch: int = 1) -> torch.Tensor:
    ids = torch.full((batch, 77), CLIP_EOS_ID, dtype=torch.int64)
    ids[:, 0] = CLIP_BOS_ID
    ids[:, 1 : 1 + len(words)] = torch.tensor(words)
    return ids


@pytest.fixture(scope="module")
def tiny():
    return build_models(TINY, VOCABULARY, seed=0).eval()


def test_build_vocabulary_drops_special_ids_and_sorts():
    encode = {"a photo": [A, PHOTO], "of a": [OF, A, CLIP_EOS_ID]}.__getitem__
    assert build_vocabulary(["a photo", "of a"], encode) == VOCABULARY


def test_id_map_keeps_special_ids_and_maps_unseen_to_unk():
    id_map = VOCABULARY.id_map()
    assert id_map.dtype == torch.int64 and id_map.shape == (49408,)
    assert id_map[CLIP_BOS_ID] == COMPACT_BOS_ID and id_map[CLIP_EOS_ID] == COMPACT_EOS_ID
    assert id_map[[A, OF, PHOTO]].tolist() == [3, 4, 5]
    assert id_map[CAT] == COMPACT_UNK_ID and id_map[0] == COMPACT_UNK_ID
    assert VOCABULARY.size == 6


def test_text_encoder_sees_unseen_words_as_unk(tiny):
    with torch.no_grad():
        cat = tiny.text_encoder(prompt_ids(A, CAT))
        dog = tiny.text_encoder(prompt_ids(A, 1929))  # "dog": also unseen
        photo = tiny.text_encoder(prompt_ids(A, PHOTO))
    assert cat.shape == (1, 77, TINY.context_width)
    torch.testing.assert_close(cat, dog, rtol=0, atol=0)
    assert (cat - photo).abs().max() > 1e-3


def test_tiny_shapes_and_sizes(tiny):
    assert 10e6 < parameter_count(tiny.unet) < 12e6
    assert parameter_count(tiny.face_projector) == 256 * 256 + 256 + 2 * (256 * 256 + 256) + 256 * 768 + 768
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        latents = tiny.vae.encode(images).latent_dist.mean
        assert latents.shape == (2, 4, TINY.latent_size, TINY.latent_size) == (2, 4, 16, 16)
        eps = tiny.unet(latents, torch.tensor([10.0, 900.0]), torch.randn(2, 77, 256)).sample
    assert eps.shape == latents.shape


def test_celeba64_shapes_and_sizes():
    models = build_models(CELEBA64, VOCABULARY, seed=0).eval()
    assert 5.5e6 < parameter_count(models.unet) < 6.5e6 and parameter_count(models.vae) < 1.1e6
    with torch.no_grad():
        latents = models.vae.encode(torch.randn(1, 3, 64, 64)).latent_dist.mean
        assert latents.shape == (1, 4, CELEBA64.latent_size, CELEBA64.latent_size) == (1, 4, 16, 16)
        context = models.context(prompt_ids(A, PHOTO), torch.randn(1, 256), torch.tensor([True]))
        assert context.shape == (1, 77, 256)
        eps = models.unet(latents, torch.tensor([500.0]), context).sample
    assert eps.shape == latents.shape


def test_face_tokens_replace_positions_74_to_76_and_are_zero_without_face(tiny):
    ids = prompt_ids(A, PHOTO, OF, batch=2)
    embedding = torch.randn(2, 256)
    with torch.no_grad():
        context = tiny.context(ids, embedding, torch.tensor([True, False]))
        text = tiny.text_encoder(ids)
        tokens = tiny.face_projector(embedding)
    assert TINY.face_token_positions == (74, 75, 76)
    torch.testing.assert_close(context[:, :74], text[:, :74], rtol=0, atol=0)
    torch.testing.assert_close(context[0, 74:], tokens[0], rtol=0, atol=0)
    assert tokens[1].abs().max() > 0
    assert context[1, 74:].abs().max() == 0


def test_insert_face_tokens_is_differentiable_through_the_projector():
    text = torch.zeros(1, 77, 4)
    tokens = torch.ones(1, 3, 4, requires_grad=True)
    insert_face_tokens(text, tokens, torch.tensor([True]), (74, 75, 76)).sum().backward()
    assert tokens.grad.tolist() == torch.ones(1, 3, 4).tolist()


def test_sd15_builds_on_meta_with_sd_shapes_and_the_same_face_token_path():
    with torch.device("meta"):
        models = build_models(SD15, VOCABULARY, seed=0)
        context = models.context(prompt_ids(A, batch=2), torch.empty(2, 256), torch.tensor([True, False]))
    # Stable Diffusion 1.x U-Net: 859,520,964 parameters.
    assert 855e6 < parameter_count(models.unet) < 865e6
    assert SD15.latent_size == 64 and models.unet.config.cross_attention_dim == 768
    assert context.shape == (2, 77, 768)
    assert (
        models.face_projector.mlp[0].in_features == 256
        and models.face_projector.mlp[-1].out_features == 3 * 768
    )
    assert SD15.face_token_positions == TINY.face_token_positions


def test_same_seed_same_weights():
    small = dataclasses.replace(TINY, unet=dataclasses.replace(TINY.unet, block_out_channels=(32, 32, 32)))
    a = build_models(small, VOCABULARY, seed=3).state_dict()
    b = build_models(small, VOCABULARY, seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
