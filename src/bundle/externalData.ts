/** The ONNX external-data files a graph's session needs, in the form of onnxruntime-web's `externalData` session option. */
import type { BundleSource } from './loadBundle';
import type { GraphName } from './manifest';

/** Structurally onnxruntime-common's ExternalDataFileDescription. */
export interface ExternalDataFile {
  /** The location the graph records for its tensors: the file name, since the data sits beside the graph. */
  readonly path: string;
  readonly data: Uint8Array;
}

/** Empty for a graph whose weights are inside its file (every graph of a small bundle). */
export function externalDataFor(bundle: BundleSource, graph: GraphName): Promise<ExternalDataFile[]> {
  return Promise.all(
    (bundle.manifest[graph].external_data ?? []).map(async (file) => ({
      path: file.slice(file.lastIndexOf('/') + 1),
      data: await bundle.arrived(file),
    })),
  );
}
