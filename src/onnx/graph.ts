/**
 * An ONNX graph under construction: nodes in the order they are traced, constants as
 * initializers (deduplicated by content for the small ones), named inputs and outputs.
 *
 * @module
 */
import {
  type Attribute,
  AttributeType,
  DataType,
  type InitializerSpec,
  type ModelSpec,
  type NodeSpec,
  type ValueInfo,
} from "./model_spec.ts";

/** The default-domain opset the lowerings are written against (ReduceMean takes axes attributes). */
export const OPSET = 17;

/** Attribute values by name: a number is an INT unless `floats` lists it, arrays are INTS. */
export type Attrs = Record<string, number | number[] | string | { f: number }>;

function attribute(name: string, v: Attrs[string]): Attribute {
  if (typeof v === "string") {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  }
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  if (typeof v === "object") return { name, type: AttributeType.FLOAT, f: v.f };
  return { name, type: AttributeType.INT, i: v };
}

function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

/** Builds one graph; value names are unique within it. */
export class OnnxGraph {
  /** Nodes in topological order. */
  readonly nodes: NodeSpec[] = [];
  /** Constants. */
  readonly initializers: InitializerSpec[] = [];
  /** Graph inputs. */
  readonly inputs: ValueInfo[] = [];
  /** Graph outputs. */
  readonly outputs: ValueInfo[] = [];
  #next = 0;
  readonly #small = new Map<string, string>();

  /** A fresh value name. */
  fresh(hint = "v"): string {
    return `${hint}_${this.#next++}`;
  }

  /**
   * Appends a node and returns its output names.
   *
   * @param opType ONNX operator
   * @param input input value names
   * @param attrs attributes
   * @param outputs number of outputs
   */
  node(opType: string, input: string[], attrs: Attrs = {}, outputs = 1): string[] {
    const output = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      input,
      output,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  /** An f32 constant (small ones shared by content). */
  float(values: ArrayLike<number>, dims: readonly number[], name?: string): string {
    return this.#constant(Float32Array.from(values), dims, DataType.FLOAT, name);
  }

  /** An int64 constant (shapes, axes, slice bounds), shared by content. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#constant(BigInt64Array.from(values.map(BigInt)), dims, DataType.INT64);
  }

  #constant(
    values: Float32Array | BigInt64Array,
    dims: readonly number[],
    dataType: number,
    name?: string,
  ): string {
    const small = name === undefined && values.length <= 64;
    const key = small ? `${dataType}:${dims}:${values.join(",")}` : "";
    const known = small ? this.#small.get(key) : undefined;
    if (known) return known;
    const n = name ?? this.fresh(dataType === DataType.INT64 ? "i64" : "const");
    this.initializers.push({ name: n, dims: [...dims], dataType, rawData: bytesOf(values) });
    if (small) this.#small.set(key, n);
    return n;
  }

  /**
   * The model with these outputs, without the nodes and constants no output needs: ONNX
   * Runtime runs every node it is given, and a lowering may trace values only a backward
   * reads (GroupNorm's stats), which a forward-only graph would otherwise compute for nothing.
   */
  spec(): ModelSpec {
    const live = new Set(this.outputs.map((o) => o.name));
    // Backwards from the outputs: a node is live when a live node or an output reads it.
    const nodes = [...this.nodes].reverse().filter((n) => {
      if (!n.output.some((o) => live.has(o))) return false;
      for (const i of n.input) live.add(i);
      return true;
    }).reverse();
    return {
      nodes,
      initializers: this.initializers.filter((t) => live.has(t.name)),
      inputs: this.inputs,
      outputs: this.outputs,
      opset: OPSET,
    };
  }
}
