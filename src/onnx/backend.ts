/**
 * The tracing backend: its tensors are symbolic ONNX values with known shapes, and every op
 * dispatched to it (src/ops/dispatch.ts) appends nodes to one graph instead of computing.
 * Running the graph is ONNX Runtime's job (src/onnx/runtime.ts).
 *
 * @module
 */
import type { Arr, Backend, OnnxStorage, Storage } from "../core/backend.ts";
import { Tensor } from "../core/tensor.ts";
import { type Attrs, OnnxGraph } from "./graph.ts";
import type { RandomInput } from "./random_inputs.ts";

/** A Backend that records an ONNX graph. */
export class OnnxBackend implements Backend {
  /** Discriminant. */
  readonly kind = "onnx" as const;
  /** Description for logs. */
  readonly name = "onnx (tracing)";
  /** No storage to poison: values exist only when ONNX Runtime runs the graph. */
  poison = false;
  /** The graph being recorded. */
  readonly graph: OnnxGraph = new OnnxGraph();
  /** The random draws of the trace, each a graph input (fill with `fillRandomInputs`). */
  readonly randomInputs: RandomInput[] = [];
  /** Per-step scalars as graph inputs (shape []), with the values traced: name → value. */
  readonly scalarInputs: Map<string, number> = new Map();

  /** Wraps a graph value as a tensor. */
  value(name: string, shape: readonly number[]): Tensor {
    return new Tensor(this, shape, { kind: "onnx", name, refs: 1 });
  }

  /**
   * Declares a graph input.
   *
   * @param name input name
   * @param shape its traced dimensions
   * @returns the symbolic tensor
   */
  input(name: string, shape: readonly number[]): Tensor {
    this.graph.inputs.push({ name, shape: [...shape] });
    return this.value(name, shape);
  }

  /**
   * Marks `t` as a graph output under `name` (an Identity node gives it that name).
   *
   * @param name output name
   * @param t the value
   */
  output(name: string, t: Tensor): void {
    this.graph.nodes.push({
      opType: "Identity",
      input: [onnxName(t)],
      output: [name],
      attribute: [],
    });
    this.graph.outputs.push({ name, shape: [...t.shape] });
  }

  /**
   * A random draw as a graph input, one per distinct draw (the forward's dropout mask is the
   * backward's too).
   *
   * @param draw what the CPU twin draws (src/onnx/random_inputs.ts)
   * @returns the symbolic tensor
   */
  random(draw: Omit<RandomInput, "name">): Tensor {
    const same = (r: RandomInput) =>
      r.kind === draw.kind && r.seed === draw.seed && r.stream === draw.stream &&
      r.threshold === draw.threshold && r.offset === draw.offset &&
      r.shape.join() === draw.shape.join();
    const known = this.randomInputs.find(same);
    if (known) return this.value(known.name, draw.shape);
    const name = `random_${this.randomInputs.length}`;
    this.randomInputs.push({ ...draw, name, shape: [...draw.shape] });
    return this.input(name, draw.shape);
  }

  /**
   * A number that changes from step to step (learning rate, bias correction, EMA decay) as a
   * graph input of shape [], so one trace serves every step; the traced value is recorded.
   *
   * @param name the input's name
   * @param value its value in this trace
   * @returns the symbolic scalar
   */
  scalar(name: string, value: number): Tensor {
    const known = this.scalarInputs.get(name);
    if (known === undefined) {
      this.scalarInputs.set(name, value);
      return this.input(name, []);
    }
    if (known !== value) {
      throw new Error(
        `onnx backend: scalar input ${name} traced as ${known} and again as ${value}; ` +
          `one trace holds one value per name`,
      );
    }
    return this.value(name, []);
  }

  /**
   * An in-place update in the trace: `t` names `value` from now on (later ops read the new
   * value, earlier ones keep the old), so the optimisers' in-place seam records out-of-place
   * nodes; mark `t` as an output to get the updated value.
   *
   * @param t the updated tensor (a parameter, a moment, an EMA weight)
   * @param value its new value, same size
   */
  assign(t: Tensor, value: Tensor): void {
    if (t.size !== value.size) {
      throw new Error(`onnx backend: cannot assign [${value.shape}] to [${t.shape}]`);
    }
    const v = value.shape.join() === t.shape.join() ? value : this.view(value, t.shape);
    (t.storage as OnnxStorage).name = onnxName(v);
  }

  /**
   * Appends one node with one output of shape `shape`.
   *
   * @param opType ONNX operator
   * @param inputs tensors or value names
   * @param shape the output's shape
   * @param attrs attributes
   * @returns the output tensor
   */
  node(
    opType: string,
    inputs: readonly (Tensor | string)[],
    shape: readonly number[],
    attrs: Attrs = {},
  ): Tensor {
    const names = inputs.map((t) => typeof t === "string" ? t : onnxName(t));
    return this.value(this.graph.node(opType, names, attrs)[0], shape);
  }

  /** A named f32 constant (weights keep their parameter names). */
  constant(data: ArrayLike<number>, shape: readonly number[], name?: string): Tensor {
    return this.value(this.graph.float(data, shape, name), shape);
  }

  empty(shape: readonly number[]): Tensor {
    throw new Error(
      `onnx backend: an uninitialised tensor [${shape}] has no graph value; ` +
        `this op needs an ONNX lowering`,
    );
  }

  full(shape: readonly number[], value: number): Tensor {
    const scalar = this.graph.float([value], []);
    return this.node("Expand", [scalar, this.graph.int64([...shape])], shape);
  }

  fromArray(data: ArrayLike<number>, shape: readonly number[]): Tensor {
    return this.constant(data, shape);
  }

  read(t: Tensor): Promise<Arr> {
    return Promise.reject(
      new Error(
        `onnx backend: tensor [${t.shape}] is symbolic; mark it as an output and run the ` +
          `graph with ONNX Runtime (src/onnx/runtime.ts)`,
      ),
    );
  }

  readMany(ts: readonly Tensor[]): Promise<Arr[]> {
    return Promise.all(ts.map((t) => this.read(t)));
  }

  copyInto(src: Tensor, dst: Tensor): void {
    throw new Error(
      `onnx backend: cannot copy [${src.shape}] into [${dst.shape}]: graph values are immutable`,
    );
  }

  view(t: Tensor, shape: readonly number[]): Tensor {
    return this.node("Reshape", [t, this.graph.int64([...shape])], shape);
  }

  free(s: Storage): void {
    s.refs--;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }
}

/** The graph value name behind a tensor of the tracing backend. */
export function onnxName(t: Tensor): string {
  const s = t.storage;
  if (s.kind !== "onnx") throw new Error(`expected an ONNX-traced tensor, got ${s.kind}`);
  return (s as OnnxStorage).name;
}
