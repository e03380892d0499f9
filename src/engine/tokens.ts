import { createHash } from 'node:crypto';
import type { StateDoc } from '../state/schema.js';

/**
 * Idempotency tokens with generations. A token replays whatever it made for as long as AWS
 * remembers it, even once that is deleted, failed or terminated; so a token must change exactly
 * when its resource is known gone, and never before (a crash between AWS creating a resource and
 * us recording it must replay it). Two generations, both kept in the state file: the step's,
 * advanced when a teardown of the step begins or its verify finds what it completed gone, and
 * each token name's, advanced by the step that sees that one resource gone.
 */
export function idempotencyToken(doc: StateDoc, stepId: string, name: string): string {
  const generations = doc.tokens ?? {};
  const step = generations[stepId] ?? 0;
  const own = generations[`${stepId}/${name}`] ?? 0;
  // Generation 0 hashes as before generations existed, so an older state file keeps its tokens.
  const suffix = step || own ? `#${step}.${own}` : '';
  return createHash('sha256').update(`${doc.installId}/${stepId}/${name}${suffix}`).digest('hex').slice(0, 32);
}

/** Advances the generation of a step's tokens (`stepId`) or of one of them (`stepId/name`), in place. */
export function advanceTokens(doc: StateDoc, key: string): void {
  doc.tokens = { ...doc.tokens, [key]: (doc.tokens?.[key] ?? 0) + 1 };
}
