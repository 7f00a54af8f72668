/** The ONNX external-data files a graph's session needs, in the form of onnxruntime-web's `externalData` session option. */
import type { LoadedBundle } from './loadBundle';
import type { GraphName } from './manifest';
import { bundleError } from './validate';

/** Structurally onnxruntime-common's ExternalDataFileDescription. */
export interface ExternalDataFile {
  /** The location the graph records for its tensors: the file name, since the data sits beside the graph. */
  readonly path: string;
  readonly data: Uint8Array;
}

/** Empty for a graph whose weights are inside its file (every graph of a small bundle). */
export function externalDataFor(bundle: LoadedBundle, graph: GraphName): ExternalDataFile[] {
  return (bundle.manifest[graph].external_data ?? []).map((file) => {
    const data = bundle.files.get(file);
    // validateManifest requires every external-data file in `files`, and loadBundle loads all of those.
    if (!data) throw bundleError(file, [`external data of ${bundle.manifest[graph].file} was not loaded`]);
    return { path: file.slice(file.lastIndexOf('/') + 1), data };
  });
}
