/** MediaPipe BlazeFace (tasks-vision FaceDetector) in the worker, on the CPU, image mode. */
import { FaceDetector, FilesetResolver } from '@mediapipe/tasks-vision';
import { appRoot } from '../appRoot';
import { type DetectedFace, detectFaces, type RawDetection, type Rect } from './detectionPasses';

/**
 * Served from node_modules/@mediapipe/tasks-vision/wasm by the app's build (same origin). A URL with
 * an origin on purpose: Vite's dev server appends "?import" to root-relative dynamic imports of
 * public/ files.
 */
const wasmBase = () => new URL('mediapipe-wasm', appRoot()).href;

/** True when `err` is about loading MediaPipe's runtime files rather than the model. */
export function isRuntimeLoadFailure(err: unknown): boolean {
  return String(err instanceof Error ? err.message : err).includes('/mediapipe-wasm');
}

export class Detector {
  private constructor(private readonly detector: FaceDetector) {}

  static async create(model: Uint8Array, minConfidence: number): Promise<Detector> {
    // The second argument selects the ES-module loader, the only one that works in a module worker.
    const fileset = await FilesetResolver.forVisionTasks(wasmBase(), true);
    const detector = await FaceDetector.createFromOptions(fileset, {
      baseOptions: { modelAssetBuffer: model, delegate: 'CPU' },
      runningMode: 'IMAGE',
      minDetectionConfidence: minConfidence,
    });
    return new Detector(detector);
  }

  /**
   * Every face in `image` (the detector's copy) in the passes of detectionPasses.ts, in its pixel
   * coordinates times `scale`, which maps them to the original image.
   */
  async detect(image: ImageBitmap, scale: { x: number; y: number }): Promise<DetectedFace[]> {
    const run = async (rect: Rect): Promise<RawDetection[]> => {
      const whole = rect.x === 0 && rect.y === 0 && rect.width === image.width && rect.height === image.height;
      const region = whole ? image : await createImageBitmap(image, rect.x, rect.y, rect.width, rect.height);
      try {
        return this.rawDetections(region);
      } finally {
        if (!whole) region.close();
      }
    };
    const faces = await detectFaces(image.width, image.height, run);
    return faces.map((d) => ({
      box: { x: d.box.x * scale.x, y: d.box.y * scale.y, width: d.box.width * scale.x, height: d.box.height * scale.y },
      score: d.score,
      keypoints: d.keypoints.map((k) => ({ x: k.x * scale.x, y: k.y * scale.y })),
      foundBy: d.foundBy,
    }));
  }

  /** MediaPipe's detections on one image, keypoints from normalised to pixels. */
  private rawDetections(image: ImageBitmap): RawDetection[] {
    const raw: RawDetection[] = [];
    for (const d of this.detector.detect(image).detections) {
      const b = d.boundingBox;
      if (!b) continue;
      raw.push({
        box: { x: b.originX, y: b.originY, width: b.width, height: b.height },
        score: d.categories[0]?.score ?? 0,
        keypoints: d.keypoints.map((k) => ({ x: k.x * image.width, y: k.y * image.height })),
      });
    }
    return raw;
  }

  close(): void {
    this.detector.close();
  }
}
