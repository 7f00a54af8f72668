/** The on-screen side at which a generated image is shown crisp: an integer multiple of its own side (so
 * every image pixel covers the same whole number of screen pixels) as close to `target` as possible without
 * passing it, never below the image's own side. 64 px -> 384, 128 px -> 384, 512 px -> 512. */
export function crispDisplaySide(side: number, target: number): number {
  return side * Math.max(1, Math.floor(target / side));
}

/** About a third of a 1440 px wide screen beside the controls. */
export const RESULT_DISPLAY_TARGET = 384;
