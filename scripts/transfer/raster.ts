/**
 * Drawing on 8-bit RGB rasters without a library: pixels, thick lines, filled boxes, and
 * text in a 3×5 pixel font (digits, letters, a little punctuation), scaled by an integer.
 *
 * @module
 */
import type { RasterImage } from "../../src/io/png.ts";

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/** The 3×5 glyphs: five rows of three bits each (bit 2 is the left column). */
const GLYPHS: Record<string, readonly number[]> = {
  "0": [7, 5, 5, 5, 7],
  "1": [2, 6, 2, 2, 7],
  "2": [7, 1, 7, 4, 7],
  "3": [7, 1, 7, 1, 7],
  "4": [5, 5, 7, 1, 1],
  "5": [7, 4, 7, 1, 7],
  "6": [7, 4, 7, 5, 7],
  "7": [7, 1, 1, 2, 2],
  "8": [7, 5, 7, 5, 7],
  "9": [7, 5, 7, 1, 7],
  A: [2, 5, 7, 5, 5],
  B: [6, 5, 6, 5, 6],
  C: [3, 4, 4, 4, 3],
  D: [6, 5, 5, 5, 6],
  E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4],
  G: [3, 4, 5, 5, 3],
  H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7],
  J: [1, 1, 1, 5, 2],
  K: [5, 5, 6, 5, 5],
  L: [4, 4, 4, 4, 7],
  M: [5, 7, 7, 5, 5],
  N: [6, 5, 5, 5, 5],
  O: [2, 5, 5, 5, 2],
  P: [6, 5, 6, 4, 4],
  Q: [2, 5, 5, 6, 3],
  R: [6, 5, 6, 5, 5],
  S: [3, 4, 2, 1, 6],
  T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7],
  V: [5, 5, 5, 5, 2],
  W: [5, 5, 7, 7, 5],
  X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  ".": [0, 0, 0, 0, 2],
  ",": [0, 0, 0, 2, 4],
  "-": [0, 0, 7, 0, 0],
  "+": [0, 2, 7, 2, 0],
  "=": [0, 7, 0, 7, 0],
  "/": [1, 1, 2, 4, 4],
  ":": [0, 2, 0, 2, 0],
  "(": [1, 2, 2, 2, 1],
  ")": [4, 2, 2, 2, 4],
  "_": [0, 0, 0, 0, 7],
  "%": [5, 1, 2, 4, 5],
  " ": [0, 0, 0, 0, 0],
  "?": [7, 1, 2, 0, 2],
};

/** A mutable RGB canvas. */
export class Canvas {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Interleaved RGB bytes, row-major. */
  readonly pixels: Uint8Array;

  /**
   * A canvas filled with one colour.
   *
   * @param width pixels
   * @param height pixels
   * @param background fill colour (white)
   */
  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3);
  }

  /**
   * Sets one pixel (ignored outside the canvas).
   *
   * @param x column
   * @param y row
   * @param c colour
   */
  put(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    this.pixels.set(c, (yi * this.width + xi) * 3);
  }

  /**
   * Fills the rectangle [x, x + w) × [y, y + h).
   *
   * @param x left
   * @param y top
   * @param w width
   * @param h height
   * @param c colour
   */
  fill(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.put(x + i, y + j, c);
  }

  /**
   * A straight line, `thickness` pixels wide (a square pen).
   *
   * @param x0 start column
   * @param y0 start row
   * @param x1 end column
   * @param y1 end row
   * @param c colour
   * @param thickness pen size in pixels
   */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const o = Math.floor((thickness - 1) / 2);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n, y = y0 + ((y1 - y0) * i) / n;
      this.fill(Math.round(x) - o, Math.round(y) - o, thickness, thickness, c);
    }
  }

  /**
   * Text in the 3×5 font (lower case drawn as upper case; unknown characters as "?").
   *
   * @param text what to write
   * @param x left of the first glyph
   * @param y top of the glyphs
   * @param c colour
   * @param scale pixels per font dot
   */
  text(text: string, x: number, y: number, c: Rgb, scale = 2): void {
    let at = x;
    for (const ch of text.toUpperCase()) {
      const g = GLYPHS[ch] ?? GLYPHS["?"];
      for (let row = 0; row < 5; row++) {
        for (let col = 0; col < 3; col++) {
          if (g[row] & (4 >> col)) this.fill(at + col * scale, y + row * scale, scale, scale, c);
        }
      }
      at += 4 * scale;
    }
  }

  /**
   * Copies a grayscale or RGB raster onto the canvas.
   *
   * @param img the raster
   * @param x left
   * @param y top
   */
  blit(img: RasterImage, x: number, y: number): void {
    for (let j = 0; j < img.height; j++) {
      for (let i = 0; i < img.width; i++) {
        const k = (j * img.width + i) * img.channels;
        const v = img.pixels[k];
        this.put(
          x + i,
          y + j,
          img.channels === 1 ? [v, v, v] : [v, img.pixels[k + 1], img.pixels[k + 2]],
        );
      }
    }
  }

  /** The canvas as a raster for `encodePng`. */
  toRaster(): RasterImage {
    return { width: this.width, height: this.height, channels: 3, pixels: this.pixels };
  }
}

/**
 * Pixel width of a string in the 3×5 font.
 *
 * @param text the string
 * @param scale pixels per font dot
 * @returns its width (no trailing gap)
 */
export function textWidth(text: string, scale = 2): number {
  return text.length === 0 ? 0 : (4 * text.length - 1) * scale;
}
