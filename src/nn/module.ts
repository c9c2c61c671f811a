/**
 * Parameters by name. A network declares its parameters (name, shape, initialiser) while it
 * is built, without allocating anything, so parameter counts of large configurations can
 * be checked cheaply; `materialize` then creates them on a backend, seeded.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { Rng } from "../core/rng.ts";
import type { Tensor } from "../core/tensor.ts";
import { type InitMode, weightInit } from "./init.ts";

/** How one parameter is initialised (EDM's init_mode and init_weight; zeros for biases). */
export interface InitSpec {
  /** EDM init mode, or "zeros" / "ones". */
  mode: InitMode | "zeros" | "ones";
  /** Multiplier (EDM's init_weight). */
  gain?: number;
  /** Fan-in used by the mode. */
  fanIn?: number;
  /** Fan-out used by the mode. */
  fanOut?: number;
}

/** One declared parameter. */
export interface ParamSpec {
  /** Name, as in the reference state_dict (e.g. "model.enc.32x32_conv.weight"). */
  name: string;
  /** Shape. */
  shape: number[];
  /** Initialiser. */
  init: InitSpec;
}

/** Parameters by name, as tensors. */
export type Params = Map<string, Tensor>;

/**
 * Collects parameter declarations in order.
 *
 * @example
 * ```ts
 * import { Registry } from "./module.ts";
 * const reg = new Registry();
 * reg.declare("w", [4, 3], { mode: "kaiming_normal", fanIn: 3, fanOut: 4 });
 * console.log(reg.count()); // 12
 * ```
 */
export class Registry {
  /** Declarations in order. */
  readonly specs: ParamSpec[] = [];
  readonly #names = new Set<string>();

  /**
   * Declares a parameter and returns its name.
   *
   * @param name unique name
   * @param shape shape
   * @param init initialiser
   * @returns name
   */
  declare(name: string, shape: number[], init: InitSpec): string {
    if (this.#names.has(name)) throw new Error(`parameter ${name} declared twice`);
    this.#names.add(name);
    this.specs.push({ name, shape, init });
    return name;
  }

  /** Total number of scalar parameters. */
  count(): number {
    return this.specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Allocates and initialises every parameter on `backend`, drawing from one seeded stream
   * in declaration order.
   *
   * @param backend where the tensors live
   * @param seed initialisation seed
   * @returns the parameters by name
   */
  materialize(backend: Backend, seed: number): Params {
    const rng = new Rng(seed);
    const params: Params = new Map();
    for (const s of this.specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const { mode, gain = 1, fanIn = 1, fanOut = 1 } = s.init;
      const t = mode === "zeros" || mode === "ones"
        ? backend.full(s.shape, mode === "ones" ? gain : 0)
        : backend.fromArray(weightInit(rng, n, mode, fanIn, fanOut, gain), s.shape);
      params.set(s.name, t);
    }
    return params;
  }
}

/**
 * Looks a parameter up, with an error that names it.
 *
 * @param params the parameters
 * @param name the name
 * @returns the tensor
 */
export function param(params: Params, name: string): Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`missing parameter ${name}`);
  return t;
}
