/**
 * The one progress display of the scripts (training, sampling, transfer sweeps, data
 * loading): a bar redrawn in place on a terminal; elsewhere (logs, CI, pipes) one line per
 * window. The ETA comes from the rate of this process since it started, so it shows from the
 * first unit of work on, and a resumed run's earlier steps do not skew it.
 *
 * @module
 */
import { fmtTime } from "./transfer/report_page.ts";

/** Options of a progress display. */
export interface ProgressOptions {
  /** What is counted, e.g. "train", "sample", "cells". */
  label: string;
  /** Units of work in all. */
  total: number;
  /** Without a terminal: print a line each time a multiple of this is passed, and at the end. */
  every?: number;
  /** Redraw in place (default: whether stdout is a terminal). */
  tty?: boolean;
  /** Where text goes (default: stdout). */
  write?: (text: string) => void;
  /** Units already done when this process starts (a resumed run's step); default 0. */
  from?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

const enc = new TextEncoder();

/** A progress bar on a terminal, else one line per window. */
export class Progress {
  readonly #o: Required<ProgressOptions>;
  readonly #start: { at: number; done: number };
  #shown = -1;
  #drawnAt = -Infinity;
  #detail = "";
  #open = false;

  /** @param opts label, total, window and output */
  constructor(opts: ProgressOptions) {
    this.#o = {
      label: opts.label,
      total: opts.total,
      every: opts.every ?? Math.max(1, Math.ceil(opts.total / 10)),
      tty: opts.tty ?? Deno.stdout.isTerminal(),
      write: opts.write ?? ((t) => Deno.stdout.writeSync(enc.encode(t))),
      now: opts.now ?? (() => performance.now()),
      from: opts.from ?? 0,
    };
    this.#start = { at: this.#o.now(), done: this.#o.from };
    this.#shown = this.#o.from;
  }

  /**
   * Records that `done` of `total` units are finished.
   *
   * @param done units finished (may start above 0, e.g. a resumed run)
   * @param detail what to show after the count, e.g. the last loss
   */
  update(done: number, detail = ""): void {
    const now = this.#o.now();
    const last = done >= this.#o.total;
    if (this.#o.tty) {
      // Redraws at most 10 times a second (a fast loop must not spend its time on the bar),
      // and whenever the detail changes.
      if (!last && detail === this.#detail && now - this.#drawnAt < 100) return;
      this.#drawnAt = now;
      this.#detail = detail;
      this.#o.write(`\r${this.line(done, detail, now, true)}\x1b[K`);
      this.#open = true;
    } else if (
      done !== this.#shown &&
      (Math.floor(done / this.#o.every) > Math.floor(this.#shown / this.#o.every) || last)
    ) {
      this.#o.write(`${this.line(done, detail, now, false)}\n`);
    }
    this.#shown = done;
  }

  /**
   * Prints a line of its own (above the bar on a terminal).
   *
   * @param text the line
   */
  log(text: string): void {
    if (this.#open) this.#o.write("\r\x1b[K");
    this.#o.write(`${text}\n`);
    this.#drawnAt = -Infinity;
  }

  /** Ends the bar's line on a terminal. */
  finish(): void {
    if (this.#open) this.#o.write("\n");
    this.#open = false;
  }

  /**
   * The text of one update.
   *
   * @param done units finished
   * @param detail text after the count
   * @param now the clock, in ms
   * @param bar with a drawn bar
   * @returns the line
   */
  line(done: number, detail: string, now: number, bar: boolean): string {
    const { total, label } = this.#o;
    const s = this.#start;
    const seconds = (now - s.at) / 1000;
    const rate = (done - s.done) / seconds;
    const eta = done >= total ? 0 : rate > 0 ? (total - done) / rate : NaN;
    const frac = Math.min(1, done / Math.max(total, 1));
    const drawn = bar ? `${"█".repeat(Math.round(frac * 24)).padEnd(24, "·")} ` : "";
    return `${label} ${drawn}${done}/${total}${detail ? ` ${detail}` : ""}, ` +
      `${fmtTime(seconds)} elapsed, ETA ${fmtTime(eta)}`;
  }
}
