import { TAG_DEPLOYMENT, tagValue } from '../aws/tags.js';
import type { DestroyResult, ForeignResource, ResourceRef, StepContext } from '../engine/step.js';

type Tags = ReadonlyArray<{ Key?: string; Value?: string }>;

/**
 * What AWS says of a resource right before we delete it: its tags, `undefined` when it is gone,
 * or why it is someone else's when its tags cannot even be read (a bucket of another account).
 */
export type Seen = Tags | undefined | { foreign: string };

/** Why a resource with these tags is not this deployment's; undefined when it is. */
export function notOurs(tags: Tags, deployment: string): string | undefined {
  const owner = tagValue(tags, TAG_DEPLOYMENT);
  if (owner === deployment) return undefined;
  return owner === undefined ? `not tagged ${TAG_DEPLOYMENT}=${deployment}` : `tagged ${TAG_DEPLOYMENT}=${owner}`;
}

/**
 * The one place a `destroy` decides "is this ours?", by the tags it re-reads at the moment of
 * deleting: a state file can be stale (restored from an old copy) and a name can have been taken
 * by someone else since we recorded it. What is gone is forgotten; what is someone else's is left
 * alone, forgotten too (it is not ours to track), and handed back so the command names it. Things
 * AWS cannot tag (routes, associations, attachments) are decided by the resource they hang off.
 */
export function ownership(ctx: StepContext) {
  const foreign: ForeignResource[] = [];
  return {
    /** True when `ref` is ours to delete now; false when it is gone or someone else's. */
    async ours(ref: ResourceRef, read: () => Promise<Seen>): Promise<boolean> {
      const seen = await read();
      if (seen === undefined) {
        await ctx.forget(ref);
        return false;
      }
      const reason = 'foreign' in seen ? seen.foreign : notOurs(seen, ctx.deployment);
      if (reason === undefined) return true;
      ctx.progress(`leaving ${ref.type} ${ref.name ?? ref.id} alone: ${reason}`);
      foreign.push({ ...ref, reason });
      await ctx.forget(ref);
      return false;
    },
    /** What the destroy hands back to the engine (with the buckets it kept on purpose, if any). */
    result(retained: ResourceRef[] = []): DestroyResult {
      return { retained, foreign };
    },
  };
}
