import { makeContext, uniqueResources } from '../engine/run.js';
import type { StateDoc } from '../state/schema.js';
import { newStateDoc, StateStore } from '../state/store.js';
import { GUIDE_STEPS } from '../steps/index.js';
import type { Deployment } from './deployment.js';
import type { Ready } from './pipeline.js';

export interface DiscoveredResource {
  type: string;
  id: string;
  step: string;
}

/**
 * What AWS holds tagged with this deployment in the session's region, found by each step's own
 * `discover` (the lookups it adopts and tears down with), so status and teardown see one truth.
 */
export async function discoverDeployment({ ctx, deployment, aws }: Ready): Promise<DiscoveredResource[]> {
  // Discovery only reads; this store lives in memory and is never written.
  const store = new StateStore(deployment.paths.file, deployment.state ?? blankState(deployment, ctx.options.sandbox, 'discovery'));
  const found = await Promise.all(
    GUIDE_STEPS.map(async (step) => {
      const refs = await step.discover(makeContext(step, { store, aws, emit: () => undefined }, new AbortController().signal));
      return uniqueResources(refs).map((r) => ({ type: r.type, id: r.id, step: step.id }));
    }),
  );
  return found.flat();
}

/** A state document for a deployment known only by its configuration (no state file). */
export function blankState(deployment: Deployment, sandbox: boolean, writtenBy: string): StateDoc {
  const { config } = deployment;
  return newStateDoc({ deployment: config.deployment, installId: writtenBy, sandbox, config, writtenBy });
}

/** One resource as the operator reads it in a listing (status, teardown --discover). */
export function resourceLine(r: DiscoveredResource): string {
  return `  ${r.type.padEnd(28)} ${r.id}  (${r.step})`;
}
