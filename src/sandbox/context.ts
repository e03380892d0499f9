import { awsError, type OperationContext, type OperationFaults } from './core.js';
import { newId, type World } from './world.js';

/**
 * Eventual consistency as one process sees it: how many by-ID lookups of each fresh resource
 * still miss it, at most `maxLag`, drawn from the call's own dice (so runs repeat exactly).
 */
export interface Consistency {
  lagging: Record<string, number>;
  maxLag: number;
  dice: () => number;
}

/**
 * The context one operation runs in. Apart from core.ts so that the service modules never load
 * world.ts (which loads the registry, which loads them): no import cycle among them.
 */
export function makeContext(
  world: World,
  region: string,
  now: number,
  consistency: Consistency,
  faults: OperationFaults = {},
): OperationContext {
  const { lagging, maxLag } = consistency;
  return {
    world,
    faults,
    region,
    now,
    newId: (prefix, length) => newId(world, prefix, length),
    startLag(id) {
      const lookups = Math.floor(consistency.dice() * (maxLag + 1));
      if (lookups > 0) lagging[id] = lookups;
    },
    lagging(id) {
      const left = lagging[id];
      if (!left) return false;
      if (left <= 1) delete lagging[id];
      else lagging[id] = left - 1;
      return true;
    },
    idempotent(operation, token, input, create) {
      if (!token) return { id: create(), replay: false };
      const { ClientToken: _ignored, ...rest } = (input ?? {}) as Record<string, unknown>;
      const fingerprint = canonicalJson(rest);
      const seen = world.tokens[token];
      if (seen) {
        if (seen.operation !== operation || seen.fingerprint !== fingerprint) {
          throw awsError('IdempotentParameterMismatch', `The client token ${token} was used with different parameters.`);
        }
        return { id: seen.resultId, replay: true };
      }
      const id = create();
      world.tokens[token] = { operation, fingerprint, resultId: id };
      return { id, replay: false };
    },
  };
}

/** JSON with object keys sorted, so the same parameters in another order compare equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
