"""Varied captions from the 40 CelebA attributes: templates, synonyms, random attribute order and subsets.

`attribute_caption(attributes, rng)` is deterministic given the `random.Random` it is handed, so training
draws the same caption for the same (seed, step, sample) after a resume. Every word it can produce is in
`caption_vocabulary_text()`, which feeds the text encoder's compact vocabulary.
"""

import random
from collections.abc import Mapping

# CelebA's list_attr_celeba.txt order.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)  # fmt: skip

NOUNS = {True: ("man", "guy", "gentleman", "male person"), False: ("woman", "lady", "female person")}
# Adjectives placed before the noun.
ADJECTIVES = {
    "Smiling": ("smiling", "happy", "cheerful"),
    "Young": ("young", "youthful"),
    "Chubby": ("chubby", "plump"),
    "Attractive": ("attractive", "good-looking"),
    "Pale_Skin": ("pale", "fair-skinned"),
}
OLDER = ("older", "middle-aged", "mature")
# "with ..." phrases; hair colour and style are merged into one phrase when both are set.
HAIR_COLOURS = {
    "Black_Hair": ("black", "dark"),
    "Blond_Hair": ("blond", "blonde", "golden"),
    "Brown_Hair": ("brown", "chestnut"),
    "Gray_Hair": ("gray", "grey", "silver"),
}
HAIR_STYLES = {"Straight_Hair": ("straight",), "Wavy_Hair": ("wavy", "curly")}
HAIR_NOUNS = ("hair",)
FEATURES = {
    "5_o_Clock_Shadow": ("a five o'clock shadow", "stubble"),
    "Arched_Eyebrows": ("arched eyebrows",),
    "Bags_Under_Eyes": ("bags under the eyes", "tired eyes"),
    "Bald": ("a bald head", "no hair"),
    "Bangs": ("bangs", "a fringe"),
    "Big_Lips": ("big lips", "full lips"),
    "Big_Nose": ("a big nose", "a large nose"),
    "Bushy_Eyebrows": ("bushy eyebrows", "thick eyebrows"),
    "Double_Chin": ("a double chin",),
    "Eyeglasses": ("eyeglasses", "glasses", "spectacles"),
    "Goatee": ("a goatee",),
    "Heavy_Makeup": ("heavy makeup", "lots of makeup"),
    "High_Cheekbones": ("high cheekbones",),
    "Mouth_Slightly_Open": ("a slightly open mouth", "parted lips"),
    "Mustache": ("a mustache", "a moustache"),
    "Narrow_Eyes": ("narrow eyes",),
    "Oval_Face": ("an oval face",),
    "Pointy_Nose": ("a pointy nose", "a pointed nose"),
    "Receding_Hairline": ("a receding hairline",),
    "Rosy_Cheeks": ("rosy cheeks", "red cheeks"),
    "Sideburns": ("sideburns",),
    "Wearing_Earrings": ("earrings",),
    "Wearing_Hat": ("a hat", "a cap"),
    "Wearing_Lipstick": ("lipstick",),
    "Wearing_Necklace": ("a necklace",),
    "Wearing_Necktie": ("a necktie", "a tie"),
}
CLEAN_SHAVEN = ("a clean-shaven face", "no beard")
# Facial hair is only mentioned for men: CelebA labels women with No_Beard=1 and some noise elsewhere.
MEN_ONLY = {"5_o_Clock_Shadow", "Goatee", "Mustache", "Sideburns"}
PHOTOS = ("a photo", "a picture", "an image", "a portrait", "a close-up photo", "a headshot")
BLURRY_PHOTOS = ("a blurry photo", "a blurred picture", "an out-of-focus photo")
TEMPLATES = (
    "{photo} of {subject} with {features}",
    "{subject} with {features}",
    "{photo} of {subject}, {features}",
    "{photo} of {subject} who has {features}",
    "{features}: {photo} of {subject}",
)
TEMPLATES_WITHOUT_FEATURES = ("{photo} of {subject}", "{subject}", "{subject}, {photo}")
# Probability that each set attribute is mentioned; subsets make the model robust to short prompts.
MENTION_P = 0.7
# How `train --captions` captions a sample (training_caption): its shard's KEY.txt, attribute_caption at
# MENTION_P, attribute_caption with a mention probability drawn uniformly per caption (short prompts as common
# as long), or each of the last two half the time (the shard captions name every set attribute in one fixed
# grammar, which is how prompts and the evaluation's probes read).
CAPTION_MODES = ("shard", "attributes", "attribute-subsets", "shard-and-subsets")
SHARD_SHARE = 0.5  # of "shard-and-subsets"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _join(items: list[str], rng: random.Random) -> str:
    if len(items) <= 1:
        return "".join(items)
    conjunction = rng.choice((" and ", ", and ")) if len(items) > 2 else " and "
    return ", ".join(items[:-1]) + conjunction + items[-1]


def attribute_caption(attributes: Mapping[str, int], rng: random.Random, mention_p: float = MENTION_P) -> str:
    """A caption mentioning a random subset of the set attributes (each with probability `mention_p`), in
    random order, with random synonyms."""
    on = {name for name in CELEBA_ATTRIBUTES if attributes.get(name, 0) == 1}
    male = "Male" in on
    mention = {name for name in sorted(on) if rng.random() < mention_p}

    adjectives = [rng.choice(ADJECTIVES[name]) for name in ADJECTIVES if name in mention]
    if "Young" not in on and ({"Gray_Hair", "Bald"} & on) and rng.random() < mention_p:
        adjectives.insert(0, rng.choice(OLDER))
    noun = rng.choice(NOUNS[male])
    words = [*adjectives, noun]
    subject = f"{_article(words[0])} {' '.join(words)}"

    features = []
    colours = [rng.choice(HAIR_COLOURS[n]) for n in HAIR_COLOURS if n in mention]
    styles = [rng.choice(HAIR_STYLES[n]) for n in HAIR_STYLES if n in mention]
    if colours or styles:
        features.append(" ".join([*colours[:1], *styles[:1], rng.choice(HAIR_NOUNS)]))
    for name, phrases in FEATURES.items():
        if name in mention and (male or name not in MEN_ONLY):
            features.append(rng.choice(phrases))
    if male and {"No_Beard"} <= on and not ({"Goatee", "Mustache"} & on) and rng.random() < 0.3:
        features.append(rng.choice(CLEAN_SHAVEN))
    rng.shuffle(features)

    photo = rng.choice(BLURRY_PHOTOS if "Blurry" in on else PHOTOS)
    if features:
        template = rng.choice(TEMPLATES)
    else:
        template = rng.choice(TEMPLATES_WITHOUT_FEATURES)
    return template.format(photo=photo, subject=subject, features=_join(features, rng))


def training_caption(mode: str, shard_caption: str, attributes: Mapping[str, int], rng: random.Random) -> str:
    """The caption `train --captions MODE` gives a sample (samples without attributes keep the shard's)."""
    if mode == "shard" or not attributes or (mode == "shard-and-subsets" and rng.random() < SHARD_SHARE):
        return shard_caption
    mention_p = MENTION_P if mode == "attributes" else rng.random()
    return attribute_caption(attributes, rng, mention_p)


def caption_vocabulary_text() -> list[str]:
    """Every phrase and template word attribute_caption can emit (for building a vocabulary)."""
    texts = [
        *TEMPLATES,
        *TEMPLATES_WITHOUT_FEATURES,
        *PHOTOS,
        *BLURRY_PHOTOS,
        *OLDER,
        *CLEAN_SHAVEN,
        *HAIR_NOUNS,
    ]
    texts += ["a an and , :"]
    for table in (NOUNS, ADJECTIVES, HAIR_COLOURS, HAIR_STYLES, FEATURES):
        for phrases in table.values():
            texts += phrases
    return [t.replace("{photo}", "").replace("{subject}", "").replace("{features}", "") for t in texts]
