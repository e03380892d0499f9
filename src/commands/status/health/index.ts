import type { AwsSession } from '../../../aws/clients.js';
import { explain } from '../../../aws/errors.js';
import { callerIdentity } from '../../../aws/identity.js';
import type { StateDoc } from '../../../state/schema.js';
import { cacheStatus } from './cache.js';
import { certificateExpiry } from './certificate.js';
import type { Check, HealthCheck, HealthState } from './check.js';
import { databaseStatus } from './database.js';
import { autoScalingInstances } from './group.js';
import { loadBalancerTargets } from './targets.js';

export type { HealthCheck, HealthState };

/** What status shows of the live deployment: the checks, or why there are none. */
export type Health = { checked: true; checks: HealthCheck[] } | { checked: false; reason: string; fix?: string };

/** In the order an operator reads a deployment: the way in, what serves, what it stores on, what proves it. */
const CHECKS: Check[] = [loadBalancerTargets, autoScalingInstances, databaseStatus, cacheStatus, certificateExpiry];

/**
 * Every check at once, read-only. Who we are is asked first: when that fails (no credentials, no
 * network, an expired session) nothing else would answer either, and its one reason is the answer.
 */
export async function liveHealth(aws: AwsSession, state: StateDoc): Promise<Health> {
  try {
    await callerIdentity(aws);
  } catch (err) {
    const { message, fix } = explain(err, { profile: aws.profile });
    return { checked: false, reason: message, ...(fix ? { fix } : {}) };
  }
  const input = { aws, state, now: aws.clock.now(), profile: aws.profile };
  // Each check on a timeline of its own: on the sandbox clock, side-by-side looks must not add up.
  const looks = await Promise.all(CHECKS.map((check) => aws.clock.timeline(input.now, async () => check(input))));
  return { checked: true, checks: looks.filter((look): look is HealthCheck => look !== undefined) };
}
