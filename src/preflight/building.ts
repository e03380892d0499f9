import type { Deployment } from '../commands/deployment.js';

/** What is left to build of a deployment: a resume checks only what the steps not complete still need. */
export function toBuild(deployment: Deployment) {
  const status = (id: string) => deployment.state?.steps[id]?.status ?? 'pending';
  return {
    /** True while any of these steps is not complete (none has run, on a new install). */
    anyOf: (...ids: string[]) => ids.some((id) => status(id) !== 'complete'),
    /** A complete step's recorded outputs, e.g. the zones the subnets took. */
    outputs: (id: string) => (status(id) === 'complete' ? deployment.state?.steps[id]?.outputs : undefined),
  };
}

export type ToBuild = ReturnType<typeof toBuild>;

/** The instance steps, each running instances of the chosen types. */
export const INSTANCE_STEPS = ['bastion-hosts', 'gitaly', 'base-instance', 'auto-scaling-group'] as const;
