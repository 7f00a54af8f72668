/** MediaPipe BlazeFace (tasks-vision FaceDetector) in the worker, on the CPU, image mode. */
import { FaceDetector, FilesetResolver } from '@mediapipe/tasks-vision';
import { appRoot } from '../appRoot';
import type { DetectedFace } from '../engine/api';

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

  /** Faces in `image`'s pixel coordinates times `scale`, which maps them to the original image. */
  detect(image: ImageBitmap, scale: { x: number; y: number }): DetectedFace[] {
    const result = this.detector.detect(image);
    const faces: DetectedFace[] = [];
    for (const d of result.detections) {
      const b = d.boundingBox;
      if (!b) continue;
      faces.push({
        box: { x: b.originX * scale.x, y: b.originY * scale.y, width: b.width * scale.x, height: b.height * scale.y },
        score: d.categories[0]?.score ?? 0,
      });
    }
    return faces;
  }

  close(): void {
    this.detector.close();
  }
}
