// A bare page for tests/e2e/engine/telemetry.test.ts: creates a MediaPipe FaceDetector from a given build of
// @mediapipe/tasks-vision (the app's, patched by the dev server, or the published file) and closes it.
import type { FaceDetector } from '@mediapipe/tasks-vision';

type Vision = typeof import('@mediapipe/tasks-vision');

declare global {
  interface Window {
    createDetector(moduleUrl: string): Promise<void>;
    closeDetector(): void;
    ready: boolean;
  }
}

let detector: FaceDetector | null = null;

window.createDetector = async (moduleUrl) => {
  const vision = (await import(/* @vite-ignore */ moduleUrl)) as Vision;
  // The ES-module build of MediaPipe's wasm (the only one the app ships) loads itself in a worker; on
  // a page it is imported here (it sets globalThis.ModuleFactory), and the fileset names no loader.
  const wasm = new URL('/mediapipe-wasm/', location.href);
  await import(/* @vite-ignore */ new URL('vision_wasm_module_internal.js', wasm).href);
  const fileset = { wasmLoaderPath: '', wasmBinaryPath: new URL('vision_wasm_module_internal.wasm', wasm).href };
  const model = new Uint8Array(await (await fetch('/models/default/face_detector.tflite')).arrayBuffer());
  detector = await vision.FaceDetector.createFromOptions(fileset, {
    baseOptions: { modelAssetBuffer: model, delegate: 'CPU' },
    runningMode: 'IMAGE',
  });
};
window.closeDetector = () => detector?.close();
window.ready = true;
