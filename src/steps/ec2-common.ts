import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { ec2TagFilters } from '../aws/tags.js';
import type { StepContext } from '../engine/step.js';

/**
 * How long to keep retrying a NotFound for something just created: AWS advises backing off for
 * up to about five minutes while EC2's API catches up.
 */
export const EVENTUAL_CONSISTENCY_MS = 5 * MINUTE;

/**
 * Deletes block with DependencyViolation while ENIs of RDS, ElastiCache, the NLB and instances
 * drain; those take minutes, so retry for a realistic window.
 */
export const DEPENDENCY_WINDOW_MS = 20 * MINUTE;

/** Timeout for a resource the table says is ready in `minutes`: generous, never endless. */
export function patience(minutes: number): number {
  return Math.max(5 * MINUTE, minutes * 10 * MINUTE);
}

export const NETWORK_READY_MS = patience(AWS_MINUTES.network.create);

/** Tag filters for this step's resources (and a Name, if given). */
export function ours(ctx: StepContext, name?: string) {
  return ec2TagFilters(ctx.deployment, ctx.stepId, name);
}

/** EC2 TagSpecifications for one resource of this step. */
export function tagSpec(ctx: StepContext, resourceType: string, name: string) {
  return [{ ResourceType: resourceType, Tags: ctx.tags(name) }] as never;
}
