"""Finding small faces with a detector that only sees large ones; src/face/detectionPasses.ts is the same
algorithm (checked through tests/golden/extraction.json, whose composites replay this module's detector
calls in TypeScript).

BlazeFace short range sees every image letterboxed to 128x128 and boxes faces reliably only when they
are at least ~15% of the image's longer side (below that it misses them or frames far more than the
face). So, on the detector's copy of the image (longer side at most max_detect_side):

1. the whole image;
2. tiles of a third of the longer side, overlapping by half, so a face of 5% of the longer side fills
   15% of a tile; a tile's face that touches one of its inner edges, or is over half the tile, is left
   to the whole-image pass or a neighbouring tile;
3. overlaps are merged (the higher score wins: IoU over OVERLAP_IOU, or the smaller box mostly inside
   the larger);
4. every candidate narrower than REFINE_BELOW of the longer side is detected again in a square region
   REFINE_ZOOM times its size around it, where the detector is at its best: that detection (the best
   one whose centre lies in the candidate's box) replaces the candidate, and a candidate the zoomed
   pass does not confirm is dropped;
5. implausible boxes are dropped: a face found only in tiles needs TILE_MIN_SCORE (many more windows
   mean more chances of a false one), and the eyes must be at least MIN_EYE_RATIO of the box width
   apart (a box grown far past the face has its eyes close together);
6. overlaps are merged again; faces are ordered left to right.

Measured on celeba-identities photos pasted into canvases at 4-40% of the longer side
(docs/face-detection.md): every face found and boxed right from 5% up (29 of 30 at 4%), no false box,
nothing on faceless backgrounds; the whole-image pass alone boxed none right below 10%.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from face0.face_crop import Box

TILE_ZOOM = 3
MIN_TILE_SIDE = 128  # the detector's input size: smaller tiles would only be upscaled
TILE_MAX_FACE = 0.5
OVERLAP_IOU = 0.3
OVERLAP_CONTAINMENT = 0.6
REFINE_BELOW = 0.25
REFINE_ZOOM = 3.5
TILE_MIN_SCORE = 0.75
MIN_EYE_RATIO = 0.12

FoundBy = Literal["full", "tile"]


@dataclass(frozen=True)
class Rect:
    """Integer pixel rectangle of the detector's image."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class RawDetection:
    """One detector output in the pixels of the image it ran on: MediaPipe's box (integers) and its six
    keypoints (right eye, left eye, nose tip, mouth, right ear, left ear as seen in the image)."""

    box: Box
    score: float
    keypoints: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PassDetection(RawDetection):
    found_by: FoundBy


Run = Callable[[Rect], Sequence[RawDetection]]


def tile_positions(size: int, tile: int) -> list[int]:
    """Tile starts along one axis: evenly spread, at most half a tile (and a rounding pixel) apart, the
    last flush with the end."""
    if size <= tile:
        return [0]
    n = math.ceil((size - tile) / (tile / 2)) + 1
    return [round(i * (size - tile) / (n - 1)) for i in range(n)]


def tile_grid(width: int, height: int) -> list[Rect]:
    """The tiles of the second pass, row by row; none when a tile would be under MIN_TILE_SIDE."""
    tile = math.ceil(max(width, height) / TILE_ZOOM)
    if tile < MIN_TILE_SIDE:
        return []
    return [
        Rect(x, y, min(tile, width), min(tile, height))
        for y in tile_positions(height, tile)
        for x in tile_positions(width, tile)
    ]


def zoom_rect(box: Box, width: int, height: int) -> Rect | None:
    """The square region REFINE_ZOOM times the box around its centre, clipped to the image; None when it
    would cover the whole image (the whole-image pass already looked at that)."""
    side = REFINE_ZOOM * max(box.width, box.height)
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    x1, y1 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
    if x1 - x0 <= 0 or y1 - y0 <= 0 or (x0 == 0 and y0 == 0 and x1 == width and y1 == height):
        return None
    return Rect(x0, y0, x1 - x0, y1 - y0)


def shifted(d: RawDetection, rect: Rect, found_by: FoundBy) -> PassDetection:
    """A detection made on `rect`'s pixels, in the whole image's pixels."""
    b = d.box
    return PassDetection(
        box=Box(b.x + rect.x, b.y + rect.y, b.width, b.height),
        score=d.score,
        keypoints=tuple((x + rect.x, y + rect.y) for x, y in d.keypoints),
        found_by=found_by,
    )


def intersection(a: Box, b: Box) -> float:
    w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    return max(0.0, w) * max(0.0, h)


def overlaps(a: Box, b: Box) -> bool:
    """The same face twice: IoU over OVERLAP_IOU, or the smaller box mostly inside the larger."""
    inter = intersection(a, b)
    area_a, area_b = a.width * a.height, b.width * b.height
    if inter <= 0 or area_a <= 0 or area_b <= 0:
        return False
    iou = inter / (area_a + area_b - inter)
    return iou > OVERLAP_IOU or inter / min(area_a, area_b) > OVERLAP_CONTAINMENT


def suppress_overlaps(detections: Sequence[PassDetection]) -> list[PassDetection]:
    """Highest score first; a detection overlapping one already kept is dropped (stable on ties)."""
    kept: list[PassDetection] = []
    for d in sorted(detections, key=lambda d: -d.score):
        if not any(overlaps(d.box, k.box) for k in kept):
            kept.append(d)
    return kept


def inside_tile(box: Box, tile: Rect, width: int, height: int) -> bool:
    """Not touching an inner edge of the tile (a face cut by it), and at most TILE_MAX_FACE of the tile."""
    if max(box.width, box.height) > TILE_MAX_FACE * max(tile.width, tile.height):
        return False
    if tile.x > 0 and box.x <= tile.x:
        return False
    if tile.y > 0 and box.y <= tile.y:
        return False
    if tile.x + tile.width < width and box.x + box.width >= tile.x + tile.width:
        return False
    return not (tile.y + tile.height < height and box.y + box.height >= tile.y + tile.height)


def eye_ratio(d: RawDetection) -> float:
    """Distance between the eyes over the box width (0.30-0.48 on frontal CelebA faces)."""
    (ax, ay), (bx, by) = d.keypoints[0], d.keypoints[1]
    return math.hypot(bx - ax, by - ay) / d.box.width if d.box.width > 0 else 0.0


def is_plausible(d: PassDetection) -> bool:
    if d.found_by == "tile" and d.score < TILE_MIN_SCORE:
        return False
    return len(d.keypoints) >= 2 and eye_ratio(d) >= MIN_EYE_RATIO


def centre_inside(inner: Box, outer: Box) -> bool:
    cx, cy = inner.x + inner.width / 2, inner.y + inner.height / 2
    return outer.x <= cx <= outer.x + outer.width and outer.y <= cy <= outer.y + outer.height


def refine(candidate: PassDetection, width: int, height: int, run: Run) -> PassDetection | None:
    """The candidate re-detected in a zoomed region, or None when that pass does not confirm it."""
    if max(candidate.box.width, candidate.box.height) >= REFINE_BELOW * max(width, height):
        return candidate
    rect = zoom_rect(candidate.box, width, height)
    if rect is None:
        return candidate
    zoomed = [shifted(d, rect, candidate.found_by) for d in run(rect)]
    confirmed = [d for d in zoomed if centre_inside(d.box, candidate.box)]
    if not confirmed:
        return None
    return max(confirmed, key=lambda d: d.score)


def detect_faces(width: int, height: int, run: Run) -> list[PassDetection]:
    """Every face in a width x height image; `run(rect)` runs the detector on that rectangle's pixels and
    returns its detections in the rectangle's own pixels."""
    whole = Rect(0, 0, width, height)
    found = [shifted(d, whole, "full") for d in run(whole)]
    for tile in tile_grid(width, height):
        for d in run(tile):
            s = shifted(d, tile, "tile")
            if inside_tile(s.box, tile, width, height):
                found.append(s)
    refined = (refine(c, width, height, run) for c in suppress_overlaps(found))
    faces = suppress_overlaps([d for d in refined if d is not None and is_plausible(d)])
    return sorted(faces, key=lambda d: (d.box.x + d.box.width / 2, d.box.y))
