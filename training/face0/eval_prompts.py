"""Probe prompts for the evaluation: attributes that agree with the input face and ones that contradict it.

Each probe is a caption in the training captions' grammar (face0.captions, first synonym of each phrase)
plus the attribute values it states, which the attribute classifier then checks on the generated image.
Whether a stated value agrees or contradicts the face is decided per attribute against the classifier's
reading of the input photo, so one prompt can hold both (e.g. "with black hair" for a blond person).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from face0.captions import ADJECTIVES, FEATURES, HAIR_COLOURS, HAIR_NOUNS, NOUNS, OLDER, PHOTOS


@dataclass(frozen=True)
class Probe:
    name: str
    prompt: str
    stated: dict[str, int]  # CelebA attribute -> value the prompt asks for


def caption(male: bool, adjectives: tuple[str, ...] = (), features: tuple[str, ...] = ()) -> str:
    """'a photo of a smiling young man with eyeglasses and a hat' from attribute names and phrases."""
    words = [*adjectives, NOUNS[male][0]]
    article = "an" if words[0][0] in "aeiou" else "a"
    text = f"{PHOTOS[0]} of {article} {' '.join(words)}"
    if features:
        text += " with " + (
            features[0] if len(features) == 1 else ", ".join(features[:-1]) + " and " + features[-1]
        )
    return text


def probe_prompts(face: Mapping[str, bool]) -> list[Probe]:
    """Probes for a face whose attributes (classifier reading of the input photo) are `face`."""
    male, young = bool(face["Male"]), bool(face["Young"])
    age = (ADJECTIVES["Young"][0],) if young else ()
    base = {"Male": int(male), **({"Young": 1} if young else {})}

    def probe(name, stated, adjectives=(), features=(), male_=male, age_=age):
        return Probe(name, caption(male_, (*adjectives, *age_), features), {**base, **stated})

    hair = HAIR_NOUNS[0]
    probes = [
        probe("plain", {}),
        probe("smiling", {"Smiling": 1}, adjectives=(ADJECTIVES["Smiling"][0],)),
        probe("eyeglasses", {"Eyeglasses": 1}, features=(FEATURES["Eyeglasses"][0],)),
        probe("blond_hair", {"Blond_Hair": 1}, features=(f"{HAIR_COLOURS['Blond_Hair'][0]} {hair}",)),
        probe("black_hair", {"Black_Hair": 1}, features=(f"{HAIR_COLOURS['Black_Hair'][0]} {hair}",)),
        probe("hat", {"Wearing_Hat": 1}, features=(FEATURES["Wearing_Hat"][0],)),
    ]
    if male:  # the captions mention facial hair for men only
        beard = (FEATURES["Goatee"][0], FEATURES["Mustache"][0])
        probes.append(probe("beard", {"No_Beard": 0}, features=beard))
    if young:
        older = Probe(
            "age",
            caption(male, (OLDER[0],), (f"{HAIR_COLOURS['Gray_Hair'][0]} {hair}",)),
            {"Male": int(male), "Young": 0, "Gray_Hair": 1},
        )
        probes.append(older)
    else:
        probes.append(probe("age", {"Young": 1}, age_=(ADJECTIVES["Young"][0],)))
    other = {"Male": int(not male), **({"Young": 1} if young else {})}
    probes.append(Probe("gender", caption(not male, age), other))
    return probes


def relation(stated_value: int, face_value: bool) -> str:
    return "agree" if bool(stated_value) == bool(face_value) else "contradict"
