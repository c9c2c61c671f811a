/**
 * Column (phase-encode) masks for multi-coil MRI (Aali et al. 2024, §4 and its public code):
 * at acceleration R a mask keeps ⌊W/R⌋ of W columns, the central ACS block always among
 * them. The further corruption P̃ keeps ⌊W/(R+1)⌋, dropping non-ACS columns only, so the
 * network's Ã behaves like acceleration R + 1 (W = 320: 160→106, 80→64, 53→45, 40→35).
 * Every mask is fixed per slice: drawn from a generator seeded by (seed, slice).
 *
 * @module
 */
import { Rng } from "../core/rng.ts";

/** The ACS width used for training masks in the paper. */
export const TRAIN_ACS = 20;

/**
 * The ACS width of a training mask at W columns: the paper's 20 of 320 columns, as a fraction,
 * so that M̃ at R + 1 still holds it on narrow images (⌊56/9⌋ = 6 columns at W = 56, R = 8).
 *
 * @param width W
 * @returns round(20·W/320)
 * @example
 * ```ts
 * import { scaledAcs } from "./masks.ts";
 * scaledAcs(320); // 20
 * scaledAcs(56); // 4
 * ```
 */
export function scaledAcs(width: number): number {
  return Math.round((20 * width) / 320);
}

/** How the non-ACS columns are chosen. */
export type ColumnMaskKind = "random" | "equispaced";

/** Options of {@link columnMask}. */
export interface ColumnMaskOptions {
  /** Acceleration R ≥ 1. */
  r: number;
  /** Number of central auto-calibration columns (default 20). */
  acs?: number;
  /** "random" (default): uniform without replacement; "equispaced": every R-th column. */
  kind?: ColumnMaskKind;
  /** Base seed. */
  seed: number;
  /** Slice index: each slice has its own fixed mask. */
  slice: number;
}

/**
 * The central ACS block [start, start + acs) of W columns, centred on column ⌊W/2⌋ (the DC
 * column of centred k-space).
 *
 * @param width W
 * @param acs number of ACS columns
 * @returns the first ACS column
 */
export function acsStart(width: number, acs: number): number {
  return Math.floor(width / 2) - Math.floor(acs / 2);
}

/**
 * A 0/1 column mask. "random" keeps ⌊W/R⌋ columns: the ACS, the rest uniformly at random
 * without replacement. "equispaced" keeps the ACS and every R-th column from a seeded
 * offset (fastMRI's equispaced masks; R must be an integer there), so it keeps about
 * W/R + acs·(1 − 1/R) columns.
 *
 * @param width W, the number of phase-encode columns
 * @param opts acceleration, ACS width, kind, seed and slice
 * @returns W values, 1 for a kept column
 * @example
 * ```ts
 * import { columnMask } from "./masks.ts";
 * const m = columnMask(320, { r: 4, seed: 0, slice: 7 }); // 80 ones, columns 150–169 among them
 * ```
 */
export function columnMask(width: number, opts: ColumnMaskOptions): Uint8Array {
  const { r, seed, slice } = opts;
  const acs = opts.acs ?? TRAIN_ACS;
  const kind = opts.kind ?? "random";
  checkWidth(width, acs);
  if (!(r >= 1)) throw new Error(`column mask: R must be ≥ 1, got ${r}`);
  const mask = new Uint8Array(width);
  const a0 = acsStart(width, acs);
  mask.fill(1, a0, a0 + acs);
  const rng = sliceRng(seed, slice, 0);
  if (kind === "equispaced") {
    if (!Number.isInteger(r)) {
      throw new Error(`column mask: equispaced needs an integer R, got ${r}`);
    }
    for (let c = rng.int(r); c < width; c += r) mask[c] = 1;
    return mask;
  }
  if (kind !== "random") {
    throw new Error(`column mask: kind must be random or equispaced, got ${kind}`);
  }
  const kept = keptColumns(width, r, acs, "R");
  pick(mask, kept - acs, rng, (c) => mask[c] === 0);
  return mask;
}

/**
 * The further corruption P̃: from a training mask at acceleration R, drop non-ACS columns
 * uniformly at random until ⌊W/(R+1)⌋ remain (the paper's counts for W = 320; the same
 * rule for every width). Seeded by (seed, slice) on its own stream, so it is fixed per slice.
 *
 * @param mask the training mask (W values of 0/1)
 * @param opts the mask's R and ACS width, seed and slice
 * @returns the further-corrupted mask M̃ ⊆ M
 * @example
 * ```ts
 * import { columnMask, furtherCorruptColumns } from "./masks.ts";
 * const m = columnMask(320, { r: 2, seed: 0, slice: 3 }); // 160 columns
 * const mt = furtherCorruptColumns(m, { r: 2, seed: 0, slice: 3 }); // 106 columns
 * ```
 */
export function furtherCorruptColumns(
  mask: Uint8Array,
  opts: { r: number; acs?: number; seed: number; slice: number },
): Uint8Array {
  const acs = opts.acs ?? TRAIN_ACS;
  const width = mask.length;
  checkWidth(width, acs);
  const a0 = acsStart(width, acs);
  for (let c = a0; c < a0 + acs; c++) {
    if (mask[c] !== 1) throw new Error(`further corruption: the mask lacks ACS column ${c}`);
  }
  const target = keptColumns(width, opts.r + 1, acs, "R + 1");
  const have = mask.reduce((s, v) => s + v, 0);
  const out = mask.slice();
  if (have <= target) return out;
  const drop = new Uint8Array(width);
  const isAcs = (c: number) => c >= a0 && c < a0 + acs;
  pick(drop, have - target, sliceRng(opts.seed, opts.slice, 1), (c) => mask[c] === 1 && !isAcs(c));
  for (let c = 0; c < width; c++) if (drop[c]) out[c] = 0;
  return out;
}

/**
 * The masks of many slices as one [N, W] float array, for a `MultiCoilFourier`.
 *
 * @param width W
 * @param slices the slice indices (one mask each)
 * @param opts as {@link columnMask}, less the slice; `further` applies P̃ too
 * @returns N·W values
 */
export function columnMasks(
  width: number,
  slices: readonly number[],
  opts: Omit<ColumnMaskOptions, "slice"> & { further?: boolean },
): Float32Array {
  const out = new Float32Array(slices.length * width);
  slices.forEach((slice, i) => {
    let m = columnMask(width, { ...opts, slice });
    if (opts.further) m = furtherCorruptColumns(m, { ...opts, slice });
    out.set(m, i * width);
  });
  return out;
}

/** ⌊W/R⌋, with a clear error when it cannot hold the ACS block. */
function keptColumns(width: number, r: number, acs: number, what: string): number {
  const kept = Math.floor(width / r);
  if (kept < acs) {
    throw new Error(
      `column mask: ${what} = ${r} keeps ⌊${width}/${r}⌋ = ${kept} columns, fewer than the ` +
        `${acs} ACS columns; lower R or the ACS width`,
    );
  }
  return kept;
}

function checkWidth(width: number, acs: number): void {
  if (!(Number.isInteger(width) && width >= 1 && Number.isInteger(acs) && acs >= 0)) {
    throw new Error(`column mask: need integer W ≥ 1 and ACS ≥ 0, got W=${width}, ACS=${acs}`);
  }
  if (acs > width) throw new Error(`column mask: ACS ${acs} is wider than W=${width}`);
}

/** Sets `count` of the columns passing `ok` to 1, uniformly without replacement. */
function pick(out: Uint8Array, count: number, rng: Rng, ok: (c: number) => boolean): void {
  const pool = [...out.keys()].filter(ok);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
    out[pool[i]] = 1;
  }
}

/** A generator fixed by (seed, slice, stream): a murmur-style mix so nearby pairs differ. */
function sliceRng(seed: number, slice: number, stream: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(slice + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ Math.imul(stream + 1, 0x27d4eb2f);
  return new Rng((h ^ (h >>> 15)) >>> 0);
}
