/**
 * Reverse-mode autograd over a tape. Ops call `record` with a backward closure; `grad`
 * runs a function with a tape and returns the gradients (or, with a seed, a
 * vector-Jacobian product) with respect to the tensors asked for.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { add } from "./elementwise.ts";
import { retainAll, tidy } from "../core/scope.ts";
import { reshape } from "./reshape.ts";

/** Given the gradient of an op's output, returns the gradients of its inputs (null: none). */
export type Backward = (gOut: Tensor) => readonly (Tensor | null)[];

interface Node {
  inputs: readonly (Tensor | null)[];
  output: Tensor;
  backward: Backward;
}

interface Tape {
  nodes: Node[];
  tracked: Set<number>;
}

let active: Tape | null = null;

/** True when an op's output must be recorded (some input depends on a watched tensor). */
export function needsGrad(inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!active) return false;
  for (const t of inputs) if (t && active.tracked.has(t.id)) return true;
  return false;
}

/**
 * Records that `output = op(inputs)` with the given backward. Called by every op.
 *
 * @param output the op's result
 * @param inputs the op's differentiable inputs, in the order `backward` returns grads
 * @param backward maps the output gradient to the input gradients
 */
export function record(
  output: Tensor,
  inputs: readonly (Tensor | null)[],
  backward: Backward,
): void {
  if (!active || !needsGrad(inputs)) return;
  active.tracked.add(output.id);
  active.nodes.push({ inputs, output, backward });
}

/** What `grad` returns. */
export interface GradResult {
  /** What the function returned. */
  value: Tensor;
  /** One gradient per tensor in `wrt`, same shapes (zeros where unused). */
  grads: Tensor[];
}

/**
 * Runs `f`, recording every op that depends on `wrt`, then back-propagates from its result.
 * With a scalar result the seed defaults to 1 (a gradient); otherwise pass `seed` of the
 * result's shape to get the vector-Jacobian product seedᵀ·∂f/∂wrt.
 *
 * @param f computes the output from tensors in `wrt` (synchronously)
 * @param wrt tensors to differentiate with respect to
 * @param seed cotangent of the output (default: ones for a one-element output)
 * @returns the output and the gradients
 * @example
 * ```ts
 * import { grad } from "./autograd.ts";
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { mul } from "./elementwise.ts";
 * import { sum } from "./reduce.ts";
 * const x = cpuBackend().fromArray([1, 2, 3], [3]);
 * const { grads } = grad(() => sum(mul(x, x)), [x]); // 2x
 * ```
 */
export function grad(f: () => Tensor, wrt: readonly Tensor[], seed?: Tensor): GradResult {
  if (active) throw new Error("grad() cannot be nested");
  const tape: Tape = { nodes: [], tracked: new Set(wrt.map((t) => t.id)) };
  active = tape;
  let value: Tensor;
  try {
    value = retainAll(f);
  } finally {
    active = null;
  }
  if (!seed && value.size !== 1) {
    throw new Error(`grad: output has shape [${value.shape}]; pass a seed (cotangent) for a VJP`);
  }
  if (seed && seed.size !== value.size) {
    throw new Error(`grad: seed shape [${seed.shape}] does not match output [${value.shape}]`);
  }
  // Every entry is the map's own tensor (a view where storage is shared), so an output's
  // gradient and the backward's temporaries are freed as soon as its node has run.
  const grads = new Map<number, Tensor>();
  grads.set(
    value.id,
    seed ? seed.backend.view(seed, seed.shape) : value.backend.full(value.shape, 1),
  );
  const wrtIds = new Set(wrt.map((t) => t.id));
  for (let i = tape.nodes.length - 1; i >= 0; i--) {
    const node = tape.nodes[i];
    const g = grads.get(node.output.id);
    if (!g) continue;
    const updates = tidy(() => {
      const gIn = node.backward(g);
      const out: [number, Tensor][] = [];
      node.inputs.forEach((inp, k) => {
        const gi = gIn[k];
        if (!inp || !gi || !tape.tracked.has(inp.id)) return;
        if (gi.size !== inp.size) {
          throw new Error(`autograd: gradient [${gi.shape}] does not match input [${inp.shape}]`);
        }
        const prev = out.find(([id]) => id === inp.id)?.[1] ?? grads.get(inp.id);
        const next = prev ? add(prev, gi) : gi.backend.view(gi, gi.shape);
        const at = out.findIndex(([id]) => id === inp.id);
        if (at >= 0) out[at][1] = next; // the same input twice: the first sum is a temporary
        else out.push([inp.id, next]);
      });
      return out;
    });
    for (const [id, t] of updates) {
      grads.get(id)?.dispose();
      grads.set(id, t);
    }
    if (!wrtIds.has(node.output.id)) {
      g.dispose();
      grads.delete(node.output.id);
    }
  }
  return {
    value,
    grads: wrt.map((t) => {
      const g = grads.get(t.id);
      return g
        ? (g.shape.length === t.shape.length ? g : reshape(g, t.shape))
        : t.backend.full(t.shape, 0);
    }),
  };
}
