/**
 * A training state for tracing a step (src/train/train.ts's `trainStep`): the weights, EMA
 * weights and Adam moments are graph inputs, and after the step the updated ones are graph
 * outputs, so a runner carries them from one run of the traced step to the next.
 *
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import type { EDMPrecond } from "../nn/precond.ts";
import { Adam } from "../optim/adam.ts";
import type { TrainState } from "../train/checkpoint.ts";
import type { OnnxBackend } from "./backend.ts";

/** The four parts of a state, as input-name prefixes: `p.<param>`, `ema.<param>`, … */
export const STATE_PARTS = ["p", "ema", "m", "v"] as const;

/** One part of a training state. */
export type StatePart = typeof STATE_PARTS[number];

/**
 * A state whose tensors are the graph inputs `p.<name>`, `ema.<name>`, `m.<name>`, `v.<name>`
 * (shapes from the network's registry), with Adam at step `step − 1`.
 *
 * @param b the tracing backend
 * @param net the network
 * @param gradClip the experiment's global-norm clip
 * @param step the step about to be traced (from 1)
 * @returns the state to pass to `trainStep`
 */
export function traceTrainState(
  b: OnnxBackend,
  net: EDMPrecond,
  gradClip: number,
  step: number,
): TrainState {
  const specs = net.model.registry.specs;
  const inputs = (part: StatePart) =>
    new Map(specs.map((s) => [s.name, b.input(`${part}.${s.name}`, s.shape)]));
  const params = inputs("p");
  const adam = new Adam([...params.values()], { maxGradNorm: gradClip });
  adam.t = step - 1;
  // The moments Adam made (zeros) become inputs too: the trace reads them from the feeds.
  for (const part of ["m", "v"] as const) {
    const moments = part === "m" ? adam.m : adam.v;
    [...inputs(part).values()].forEach((t, i) => b.assign(moments[i], t));
  }
  return { step: step - 1, params, ema: inputs("ema"), adam };
}

/**
 * Marks the state's tensors after a traced step as the outputs `new_<part>.<name>`.
 *
 * @param b the tracing backend
 * @param state the state `trainStep` updated
 */
export function outputTrainState(b: OnnxBackend, state: TrainState): void {
  const names = [...state.params.keys()];
  const parts: Record<StatePart, readonly Tensor[]> = {
    p: [...state.params.values()],
    ema: names.map((k) => state.ema.get(k)!),
    m: state.adam.m,
    v: state.adam.v,
  };
  for (const part of STATE_PARTS) {
    parts[part].forEach((t, i) => b.output(`new_${part}.${names[i]}`, t));
  }
}
