/**
 * A graph with a dynamic batch from two traces: the same computation traced at two batch sizes
 * records the same nodes, and the only constants that differ are the shapes of reshapes, where
 * the one dimension that moved with the batch becomes Reshape's −1. Anything else that moved
 * is a batch-dependent constant this cannot express, and says so.
 *
 * @module
 */
import { OnnxBackend } from "./backend.ts";
import { OPSET } from "./graph.ts";
import {
  DataType,
  encodeModel,
  type InitializerSpec,
  type ModelSpec,
  type ValueInfo,
} from "./proto.ts";

/** Two batch sizes unlikely to equal any other dimension of a network. */
const BATCHES = [7, 11] as const;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, k) => v === b[k]);
}

/** One constant of both traces: equal, or a shape whose single batch-dependent entry is −1. */
function mergeInitializer(a: InitializerSpec, b: InitializerSpec): InitializerSpec {
  if (a.name !== b.name || a.dataType !== b.dataType) {
    throw new Error(`dynamic batch: the traces differ at constant ${a.name} / ${b.name}`);
  }
  const sameDims = a.dims.join() === b.dims.join();
  if (sameDims && sameBytes(a.rawData, b.rawData)) return a;
  const shape = sameDims && a.dataType === DataType.INT64;
  const va = shape ? new BigInt64Array(a.rawData.slice().buffer) : new BigInt64Array();
  const vb = shape ? new BigInt64Array(b.rawData.slice().buffer) : new BigInt64Array();
  const moved = [...va.keys()].filter((k) => va[k] !== vb[k]);
  if (!shape || moved.length !== 1 || va.includes(-1n)) {
    throw new Error(
      `dynamic batch: constant ${a.name} depends on the batch in a way a graph cannot express ` +
        `(only reshape shapes with one batch-dependent dimension can); export with a fixed batch`,
    );
  }
  va[moved[0]] = -1n;
  return { ...a, rawData: new Uint8Array(va.buffer) };
}

function mergeValues(a: ValueInfo[], b: ValueInfo[]): ValueInfo[] {
  return a.map((v, k) => ({
    name: v.name,
    shape: v.shape.map((d, j) => (d === b[k].shape[j] ? d : "N")),
  }));
}

/**
 * Traces `build` at two batch sizes and merges the graphs into one whose batch is dynamic.
 *
 * @param build records the graph on `b` for a batch of `n` (inputs, ops, outputs)
 * @returns the model bytes
 * @example
 * ```ts
 * import { traceDynamicBatch } from "./dynamic_batch.ts";
 * import { silu } from "../ops/elementwise.ts";
 * import { reshape } from "../ops/reshape.ts";
 * const bytes = traceDynamicBatch((b, n) => {
 *   b.output("y", silu(reshape(b.input("x", [n, 4, 4]), [n, 16])));
 * });
 * ```
 */
export function traceDynamicBatch(build: (b: OnnxBackend, n: number) => void): Uint8Array {
  const [a, b] = BATCHES.map((n) => {
    const backend = new OnnxBackend();
    build(backend, n);
    return backend.graph.spec();
  });
  const nodesA = JSON.stringify(a.nodes);
  if (nodesA !== JSON.stringify(b.nodes) || a.initializers.length !== b.initializers.length) {
    throw new Error(
      "dynamic batch: the graph's structure depends on the batch size; export with a fixed batch",
    );
  }
  const merged: ModelSpec = {
    nodes: a.nodes,
    initializers: a.initializers.map((t, k) => mergeInitializer(t, b.initializers[k])),
    inputs: mergeValues(a.inputs, b.inputs),
    outputs: mergeValues(a.outputs, b.outputs),
    opset: OPSET,
  };
  return encodeModel(merged);
}
