"""Face extraction, the reference for the app's in-browser pipeline: load -> detect -> crop -> embed.

load_image: decode, apply the EXIF orientation, RGB float32 0..255 (grayscale becomes three equal
channels). FaceExtractor.detect runs MediaPipe's FaceDetector (BlazeFace short range, IMAGE mode) on a
copy downscaled so its longer side is at most max_detect_side, in the passes of face0.detection_passes
(whole image, tiles, zoomed re-detection of small faces, plausibility), and returns boxes and keypoints
in full-resolution pixels. FaceExtractor.extract keeps the largest face, crops face_crop_box(box,
margins) from the full-resolution image to 150x150 and embeds it with face_embedder.onnx.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from face0.detection_passes import FoundBy, RawDetection, Rect, detect_faces
from face0.face_crop import FACE0_CROP_MARGINS, Box, CropMargins, crop_and_resize, face_crop_box, largest_face
from face0.face_crop import to_pixel_values as normalize_crop
from face0.facemodels.detector import DETECTOR_FILE
from face0.facemodels.embedder import (
    DESCRIPTOR_NAME,
    EMBEDDER_FILE,
    EMBEDDING_NAME,
    INPUT_NAME,
    INPUT_SIZE,
    MEAN_RGB,
    STD_RGB,
)

MIN_CONFIDENCE = 0.5
MAX_DETECT_SIDE = 1024


class ImageError(ValueError):
    """The input is not a decodable image (not an image, truncated, empty)."""


@dataclass(frozen=True)
class Detection:
    box: Box  # full-resolution pixels
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()  # full-resolution pixels (detection_passes.RawDetection)
    found_by: FoundBy = "full"


@dataclass(frozen=True)
class Extraction:
    detections: list[Detection]
    chosen: int  # index into detections: the largest box
    box: Box
    crop_box: Box
    crop: np.ndarray  # (INPUT_SIZE, INPUT_SIZE, 3) float32 RGB 0..255
    embedding: np.ndarray  # (256,) float32


def load_image(source: str | Path | bytes) -> np.ndarray:
    """Decoded, EXIF-oriented RGB image, (H, W, 3) float32 in 0..255."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            img.load()  # decode now, so truncated files fail here
            rgb = ImageOps.exif_transpose(img).convert("RGB")
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"{name}: not a readable image ({e})") from e
    return np.asarray(rgb, dtype=np.float32)


def to_pixel_values(crop: np.ndarray) -> np.ndarray:
    """The embedder's input for one crop: (1, 3, S, S), normalised as face-api does."""
    return normalize_crop(crop, MEAN_RGB, STD_RGB)[None]


def detection_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Size of the copy the detector sees: longer side at most max_side, aspect kept."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    return max(1, round(width * max_side / longest)), max(1, round(height * max_side / longest))


DetectorCall = tuple[Rect, list[RawDetection]]


def _raw_detection(d, width: int, height: int) -> RawDetection:
    """A MediaPipe detection on a width x height image, keypoints from normalised to pixels."""
    b = d.bounding_box
    return RawDetection(
        box=Box(b.origin_x, b.origin_y, b.width, b.height),
        score=float(d.categories[0].score),
        keypoints=tuple((k.x * width, k.y * height) for k in d.keypoints),
    )


class FaceExtractor:
    def __init__(
        self,
        model_dir: str | Path,
        min_confidence: float = MIN_CONFIDENCE,
        max_detect_side: int = MAX_DETECT_SIDE,
        margins: CropMargins = FACE0_CROP_MARGINS,
    ):
        import onnxruntime as ort
        from mediapipe.tasks.python import BaseOptions, vision

        model_dir = Path(model_dir)
        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=(model_dir / DETECTOR_FILE).read_bytes()),
            running_mode=vision.RunningMode.IMAGE,
            min_detection_confidence=min_confidence,
        )
        self._detector = vision.FaceDetector.create_from_options(options)
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = 1  # shared CPUs; batch 1 gains little from threads
        self._session = ort.InferenceSession(
            str(model_dir / EMBEDDER_FILE), session_options, providers=["CPUExecutionProvider"]
        )
        self.max_detect_side = max_detect_side
        self.margins = margins

    def close(self) -> None:
        self._detector.close()

    def __enter__(self) -> FaceExtractor:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def detect(self, rgb: np.ndarray, calls: list[DetectorCall] | None = None) -> list[Detection]:
        """`calls`, when given, receives every detector call (rectangle of the detector's copy, raw
        detections): the goldens replay them in TypeScript."""
        import mediapipe as mp

        height, width = rgb.shape[:2]
        pixels = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
        det_w, det_h = detection_size(width, height, self.max_detect_side)
        if (det_w, det_h) != (width, height):
            pixels = np.asarray(Image.fromarray(pixels).resize((det_w, det_h), Image.Resampling.BILINEAR))

        def run(rect: Rect) -> list[RawDetection]:
            region = pixels[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(region))
            found = self._detector.detect(image).detections
            raw = [_raw_detection(d, rect.width, rect.height) for d in found]
            if calls is not None:
                calls.append((rect, raw))
            return raw

        sx, sy = width / det_w, height / det_h
        return [
            Detection(
                box=Box(d.box.x * sx, d.box.y * sy, d.box.width * sx, d.box.height * sy),
                score=d.score,
                keypoints=tuple((x * sx, y * sy) for x, y in d.keypoints),
                found_by=d.found_by,
            )
            for d in detect_faces(det_w, det_h, run)
        ]

    def run(self, pixel_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(face_embedding (B, 256), face-api descriptor (B, 128)) for (B, 3, S, S) pixel values."""
        embedding, descriptor = self._session.run(
            [EMBEDDING_NAME, DESCRIPTOR_NAME], {INPUT_NAME: np.ascontiguousarray(pixel_values, np.float32)}
        )
        return embedding, descriptor

    def embed(self, pixel_values: np.ndarray) -> np.ndarray:
        return self.run(pixel_values)[0]

    def extract(self, rgb: np.ndarray, calls: list[DetectorCall] | None = None) -> Extraction | None:
        detections = self.detect(rgb, calls)
        chosen = largest_face(detections)
        if chosen < 0:
            return None
        box = detections[chosen].box
        crop_box = face_crop_box(box, self.margins)
        crop = crop_and_resize(rgb, crop_box, INPUT_SIZE)
        embedding = self.embed(to_pixel_values(crop))[0]
        return Extraction(detections, chosen, box, crop_box, crop, embedding)
