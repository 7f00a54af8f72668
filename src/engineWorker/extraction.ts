/**
 * The face pipeline: decode -> detect -> crop -> embed. The TypeScript twin of
 * training/face0/extraction.py (its FaceExtractor: detect, then the largest face's crop embedded), whose
 * goldens check it; the embedder runs as one of the bundle's graphs, through the engine's runner.
 */
import type { ArrivingBundle } from '../bundle/loadBundle';
import type { Manifest } from '../bundle/manifest';
import { cropSourceRect, decodeImage, downscaleForDetection, readRegion } from '../face/decodeImage';
import { Detector, isRuntimeLoadFailure } from '../face/detector';
import { faceCropBox, largestFace } from '../face/faceCrop';
import { cropAndResize, toPixelValues } from '../face/resample';
import { rgbToRgba } from '../shared/pixels';
import { EngineError } from '../shared/engineError';
import type { FaceAnalysis } from './api';
import type { RunGraph } from './pipeline';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class FaceExtractor {
  private constructor(
    private readonly manifest: Manifest,
    private readonly detector: Detector,
  ) {}

  /** Starts MediaPipe's detector from the bundle's model file once it has arrived. */
  static async create(bundle: ArrivingBundle): Promise<FaceExtractor> {
    const spec = bundle.manifest.face_detector;
    const bytes = await bundle.arrived(spec.file);
    try {
      return new FaceExtractor(bundle.manifest, await Detector.create(bytes, spec.min_confidence));
    } catch (err) {
      if (isRuntimeLoadFailure(err)) throw new EngineError('internal', `MediaPipe could not start: ${message(err)}`);
      throw new EngineError('bad_bundle', `Bundle file ${spec.file}: the face detector could not be created (${message(err)})`);
    }
  }

  close(): void {
    this.detector.close();
  }

  /** Every face in the photo, the largest one (or `pickFace`) cropped and embedded by `runGraph`'s face_embedder. */
  async extract(image: Blob, pickFace: number | undefined, runGraph: RunGraph): Promise<FaceAnalysis> {
    const m = this.manifest;
    const t0 = performance.now();
    const img = await decodeImage(image);
    try {
      const small = await downscaleForDetection(img, m.face_detector.max_detect_side);
      let faces;
      try {
        faces = await this.detector.detect(small.image, small.scale);
      } finally {
        small.image.close();
      }
      if (faces.length === 0) throw new EngineError('no_face', 'No face found in this photo');
      let chosen = largestFace(faces);
      if (pickFace !== undefined) {
        if (!Number.isInteger(pickFace) || pickFace < 0 || pickFace >= faces.length) {
          throw new EngineError('internal', `There is no face ${pickFace} in this photo (it has ${faces.length})`);
        }
        chosen = pickFace;
      }
      const emb = m.face_embedder;
      const S = emb.input_size;
      const cropBox = faceCropBox(faces[chosen].box, emb.crop_margins);
      const rect = cropSourceRect(cropBox, S, img.width, img.height);
      const region = readRegion(img, rect);
      const crop = cropAndResize(region, { ...cropBox, x: cropBox.x - rect.x, y: cropBox.y - rect.y }, S);
      const pixelValues = toPixelValues(crop, emb.mean, emb.std);
      const out = await runGraph('face_embedder', { pixel_values: { data: pixelValues, dims: [1, 3, S, S] } });
      const embedding = out.face_embedding && 'data' in out.face_embedding ? out.face_embedding.data : undefined;
      if (!(embedding instanceof Float32Array) || embedding.length !== emb.embedding_width) {
        throw new EngineError('internal', `The face embedder returned ${embedding?.length ?? 0} values, expected ${emb.embedding_width}`);
      }
      return {
        imageWidth: img.width,
        imageHeight: img.height,
        faces,
        chosen,
        cropBox,
        crop: { width: S, height: S, rgba: rgbToRgba(crop) },
        embedding,
        ms: performance.now() - t0,
      };
    } finally {
      img.bitmap.close();
    }
  }
}
