/**
 * Sessions for graphs traced afresh at every call (a training step, whose batch of images
 * and masks the trace records as constants): graphs of the same structure share one session,
 * and a constant whose values change between traces becomes a graph input fed at each run.
 * A probe trace (the same step on other data) finds those constants before the first compile,
 * so every step reuses one session (compiling a training step takes a minute or two here);
 * constants that never change (the im2col one-hot kernels, DFT matrices) stay initializers ONNX
 * Runtime can pre-pack.
 *
 * @module
 */
import { DataType, encodeModel, type InitializerSpec, type ModelSpec } from "./proto.ts";
import {
  type Feeds,
  type NativeSession,
  openNativeSession,
  type OrtValue,
  type SessionOptions,
} from "./runtime.ts";

interface Entry {
  /** The constants of the trace it was compiled from, by name. */
  constants: Map<string, Uint8Array>;
  /** Constants fed as inputs. */
  lifted: Set<string>;
  session: NativeSession;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

function floats(t: InitializerSpec): Float32Array {
  return new Float32Array(t.rawData.slice().buffer);
}

/** A session per graph structure, data-dependent constants lifted to inputs. */
export class GraphCache {
  readonly #options: SessionOptions;
  readonly #entries = new Map<string, Entry>();
  /** Sessions compiled so far (one per structure, plus one per newly lifted constant set). */
  compiles = 0;

  /**
   * An empty cache.
   *
   * @param options the provider and threads of the sessions
   */
  constructor(options: SessionOptions = {}) {
    this.#options = options;
  }

  /**
   * Runs a traced graph, reusing the session of an earlier trace of the same structure.
   *
   * @param spec the trace
   * @param feeds its inputs
   * @param probe the same computation traced on other data, called before a first compile
   * @returns its outputs
   */
  run(spec: ModelSpec, feeds: Feeds, probe?: () => ModelSpec): Record<string, OrtValue> {
    const key = JSON.stringify([
      spec.nodes,
      spec.inputs,
      spec.outputs,
      spec.initializers.map((t) => [t.name, t.dims, t.dataType]),
    ]);
    let entry = this.#entries.get(key);
    const other = entry ? null : probe?.();
    const before = entry?.constants ??
      new Map((other?.initializers ?? spec.initializers).map((t) => [t.name, t.rawData]));
    const changed = spec.initializers.filter((t) =>
      !entry?.lifted.has(t.name) && !sameBytes(t.rawData, before.get(t.name) ?? t.rawData)
    );
    if (!entry || changed.length) {
      const lifted = new Set([...(entry?.lifted ?? []), ...changed.map((t) => t.name)]);
      const bad = changed.find((t) => t.dataType !== DataType.FLOAT);
      if (bad) throw new Error(`graph cache: the integer constant ${bad.name} changed`);
      entry?.session.release();
      entry = {
        constants: new Map(spec.initializers.map((t) => [t.name, t.rawData])),
        lifted,
        session: openNativeSession(encodeModel(liftConstants(spec, lifted)), this.#options),
      };
      this.#entries.set(key, entry);
      this.compiles++;
    }
    const all: Feeds = { ...feeds };
    for (const t of spec.initializers) {
      if (entry.lifted.has(t.name)) all[t.name] = [floats(t), t.dims];
    }
    return entry.session.run(all);
  }

  /** Frees every session. */
  release(): void {
    for (const e of this.#entries.values()) e.session.release();
    this.#entries.clear();
  }
}

/** The graph with the named constants as inputs. */
function liftConstants(spec: ModelSpec, lifted: ReadonlySet<string>): ModelSpec {
  return {
    ...spec,
    initializers: spec.initializers.filter((t) => !lifted.has(t.name)),
    inputs: [
      ...spec.inputs,
      ...spec.initializers.filter((t) => lifted.has(t.name)).map((t) => ({
        name: t.name,
        shape: t.dims,
      })),
    ],
  };
}
