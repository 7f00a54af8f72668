"""Adds TFLite metadata to MediaPipe's BlazeFace short-range model.

The model in the `@mediapipe/face_detection` npm package has no metadata, and MediaPipe's
FaceDetector task (Python and tasks-vision in the browser) refuses a float32 input tensor
without NormalizationOptions. The metadata written here is what the task needs: an RGB image
input normalised to [-1, 1] and the two raw outputs.
"""

import sys
import types

DETECTOR_FILE = "face_detector.tflite"
DETECTOR_NAME = "BlazeFace (short-range)"
DETECTOR_DESCRIPTION = "MediaPipe face_detection_short_range.tflite with image-input metadata added by Face0."
NORM_MEAN = 127.5
NORM_STD = 127.5
OUTPUT_NAMES = ("regressors", "classificators")

# Only basic fields (normalisation, colour space, names) are written, all of which the first
# metadata parser version understands.
_MIN_PARSER_VERSION = "1.0.0"
_VERSION_MODULE = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"


def _install_parser_version_stand_in() -> None:
    """The mediapipe wheel imports a native module it does not ship; it only reports a version."""
    if _VERSION_MODULE in sys.modules:
        return
    leaf = types.ModuleType(_VERSION_MODULE)
    leaf.GetMinimumMetadataParserVersion = lambda _metadata_buf: _MIN_PARSER_VERSION
    package_name = _VERSION_MODULE.rpartition(".")[0]
    package = sys.modules.get(package_name) or types.ModuleType(package_name)
    package._pywrap_metadata_version = leaf
    sys.modules[package_name] = package
    sys.modules[_VERSION_MODULE] = leaf


def add_detector_metadata(model: bytes) -> bytes:
    """Returns the TFLite model with image-input and output metadata (deterministic bytes)."""
    _install_parser_version_stand_in()
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(DETECTOR_NAME, DETECTOR_DESCRIPTION)
    writer.add_image_input(norm_mean=[NORM_MEAN], norm_std=[NORM_STD])
    for name in OUTPUT_NAMES:
        writer.add_feature_output(name=name)
    patched, _metadata_json = writer.populate()
    # Something inside mediapipe keeps this frame alive until exit, when the writer's temp-folder
    # cleanup fails noisily; dropping the reference now lets it clean up here.
    del writer
    return bytes(patched)


def read_metadata_json(model: bytes) -> str:
    """The TFLite metadata of a model as MediaPipe's displayer renders it (JSON)."""
    _install_parser_version_stand_in()
    from mediapipe.tasks.python.metadata import metadata

    return metadata.MetadataDisplayer.with_model_buffer(model).get_metadata_json()
