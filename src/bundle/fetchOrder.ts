/** The order a bundle's files are downloaded in. */
import { GRAPH_NAMES, type Manifest } from './manifest';

/** The bundle's files in fetch order: `first` (those listed in the manifest), then the others in manifest order. */
export function fetchOrder(manifest: Manifest, first: readonly string[]): string[] {
  const listed = Object.keys(manifest.files);
  const head = [...new Set(first)].filter((path) => path in manifest.files);
  return [...head, ...listed.filter((path) => !head.includes(path))];
}

/**
 * The order the engine's init needs files in: the tokenizer's vocabulary, the face detector
 * (MediaPipe starts beside the sessions), then each graph's file and external data in session order.
 */
export function orderOfNeed(manifest: Manifest): string[] {
  return [
    manifest.tokenizer.vocab_file,
    manifest.face_detector.file,
    ...GRAPH_NAMES.flatMap((graph) => [manifest[graph].file, ...(manifest[graph].external_data ?? [])]),
  ];
}
