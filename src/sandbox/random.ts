/**
 * The sandbox's one random generator (mulberry32: tiny, fast, good enough for IDs and dice).
 * `step` advances a 32-bit state and returns the state and a number in [0, 1); the world keeps
 * the ID generator's state, and `dice` derives a short-lived generator from a key.
 */
export function step(state: number): { state: number; value: number } {
  const next = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(next ^ (next >>> 15), next | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { state: next, value: ((t ^ (t >>> 14)) >>> 0) / 4294967296 };
}

/**
 * Dice that depend only on what they are for (the key), never on how many other calls came
 * first: two runs with the same seed throw the same dice however the machine interleaves them.
 */
export function dice(seed: number, ...key: Array<string | number>): () => number {
  let state = hash32(`${seed}\u0000${key.join('\u0000')}`);
  return () => {
    const next = step(state);
    state = next.state;
    return next.value;
  };
}

/** FNV-1a: spreads a key over 32 bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}
