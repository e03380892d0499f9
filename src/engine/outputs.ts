import { createHash } from 'node:crypto';
import type { StateDoc } from '../state/schema.js';
import type { EngineStep } from './step.js';

/** JSON with every object's keys in order, so equal outputs always read the same. */
function canonicalJson(value: unknown): string {
  const sorted = (_key: string, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v;
  return JSON.stringify(value, sorted) ?? 'undefined';
}

/**
 * A short digest of each needed step's outputs, as the state holds them now. A step records these
 * when it completes; if one differs on resume (a needed step was re-created with other IDs), the
 * step runs `create` again instead of being taken as complete.
 */
export function needsFingerprint(step: Pick<EngineStep, 'needs'>, doc: StateDoc): Record<string, string> {
  return Object.fromEntries(
    step.needs.map((id) => [id, createHash('sha256').update(canonicalJson(doc.steps[id]?.outputs)).digest('hex').slice(0, 16)]),
  );
}

/** The needs whose outputs differ from what the step saw when it completed. */
export function changedNeeds(recorded: Record<string, string> | undefined, now: Record<string, string>): string[] {
  return Object.keys(now).filter((id) => recorded?.[id] !== now[id]);
}

export type ReadOutputs = { ok: true; value: unknown } | { ok: false; why: string };

/** A step's outputs read back from the state file, checked against the step's schema. */
export function readOutputs(step: Pick<EngineStep, 'outputs'>, stored: unknown): ReadOutputs {
  if (stored === undefined) return { ok: false, why: 'none recorded' };
  if (!step.outputs) return { ok: true, value: stored };
  const parsed = step.outputs.safeParse(stored);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { ok: false, why: `${issue.path.join('.') || 'outputs'}: ${issue.message}` };
}
