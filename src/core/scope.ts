/**
 * Explicit tensor lifetimes: `tidy(fn)` frees every tensor made inside `fn` except what it
 * returns, so a 10 000-step loop does not grow memory.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";

const scopes: Set<Tensor>[] = [];
let retaining = 0;

/**
 * Runs `fn` with every `tidy` inside it keeping all its tensors (moved to the enclosing
 * scope). Autograd runs the recorded function under it: the tape's backward closures may
 * need any intermediate, and the core need not ask the tape.
 *
 * @param fn synchronous work
 * @returns what `fn` returned
 */
export function retainAll<T>(fn: () => T): T {
  retaining++;
  try {
    return fn();
  } finally {
    retaining--;
  }
}

/** Registers a new tensor with the innermost open scope (called by the Tensor constructor). */
export function track(t: Tensor): void {
  scopes.at(-1)?.add(t);
}

/**
 * Moves `t` out of the current scope (it survives the scope's end) and returns it.
 *
 * @param t tensor to keep
 * @returns t
 * @example
 * ```ts
 * import { cpuBackend } from "./select_backend.ts";
 * import { keep, tidy } from "./scope.ts";
 * const b = cpuBackend();
 * let cache = b.full([1], 0);
 * tidy(() => {
 *   cache = keep(b.full([2], 1)); // survives the tidy without being returned
 * });
 * ```
 */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/**
 * Runs `fn` and disposes every tensor created during it, except tensors reachable from its
 * result (a tensor, or arrays/objects of tensors), which move to the enclosing scope. Inside
 * `retainAll` (which `grad` uses) every tensor moves to the enclosing scope instead.
 *
 * @param fn synchronous work that creates temporaries
 * @returns what `fn` returned
 * @example
 * ```ts
 * import { tidy } from "./scope.ts";
 * import { cpuBackend } from "./select_backend.ts";
 * const b = cpuBackend();
 * const kept = tidy(() => {
 *   const tmp = b.full([2], 1);
 *   return b.full([2], 2); // survives; tmp is freed
 * });
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const survivors = new Set<Tensor>();
  if (retaining > 0) { for (const t of scope) survivors.add(t); }
  else collect(result, survivors, 0);
  for (const t of scope) {
    if (survivors.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

function collect(v: unknown, out: Set<Tensor>, depth: number): void {
  if (v === null || typeof v !== "object" || depth > 4) return;
  if ("storage" in v && "shape" in v && "dispose" in v) {
    out.add(v as Tensor);
    return;
  }
  const values = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v);
  for (const x of values) collect(x, out, depth + 1);
}
