/**
 * Weight initialisation as in EDM's `weight_init`: Xavier/Kaiming, uniform/normal, seeded.
 *
 * @module
 */
import type { Rng } from "../core/rng.ts";

/** EDM's init modes. */
export type InitMode = "xavier_uniform" | "xavier_normal" | "kaiming_uniform" | "kaiming_normal";

/**
 * Draws `n` initial weights for a layer with the given fans.
 *
 * @param rng seeded generator
 * @param n number of values
 * @param mode EDM init mode
 * @param fanIn inputs per output (Cin·k² for a conv)
 * @param fanOut outputs per input (Cout·k² for a conv)
 * @param gain extra factor (EDM's init_weight)
 * @returns the weights
 * @example
 * ```ts
 * import { weightInit } from "./init.ts";
 * import { Rng } from "../core/rng.ts";
 * const w = weightInit(new Rng(0), 64 * 3 * 9, "kaiming_normal", 27, 576);
 * ```
 */
export function weightInit(
  rng: Rng,
  n: number,
  mode: InitMode,
  fanIn: number,
  fanOut: number,
  gain = 1,
): Float64Array {
  const out = new Float64Array(n);
  const uniform = mode.endsWith("uniform");
  const std = mode.startsWith("xavier") ? Math.sqrt(2 / (fanIn + fanOut)) : Math.sqrt(1 / fanIn);
  // Uniform on [−√3·std, √3·std] has standard deviation std.
  const bound = uniform ? Math.sqrt(3) * std : std;
  for (let i = 0; i < n; i++) {
    out[i] = gain * bound * (uniform ? rng.uniform() * 2 - 1 : rng.normal());
  }
  return out;
}
