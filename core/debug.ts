/** `KILN_DEBUG` levels: 1 a line per realize, 2 a line per kernel, 3 generated source. @module */

let cached: number | undefined;

/** The current `KILN_DEBUG` level (0 when unset or when env access is not granted). */
export function debugLevel(): number {
  if (cached === undefined) {
    try {
      cached = Number(Deno.env.get("KILN_DEBUG") ?? 0) || 0;
    } catch {
      cached = 0;
    }
  }
  return cached;
}
