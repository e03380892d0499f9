import type { AwsClients } from '../../../aws/clients.js';
import { explain } from '../../../aws/errors.js';
import { readOutputs } from '../../../engine/outputs.js';
import type { StepRef } from '../../../engine/step.js';
import type { StateDoc } from '../../../state/schema.js';

/** ok: as it should be; warn: working but needs an eye (a certificate near its end); fail: not serving; unknown: AWS did not say. */
export type HealthState = 'ok' | 'warn' | 'fail' | 'unknown';

/** One live look at a part of the deployment, in words and as data. */
export interface HealthCheck {
  id: string;
  title: string;
  state: HealthState;
  /** What the operator reads: "2 of 2 healthy", "available", "ISSUED, expires 2027-11-30 (364 days left)". */
  text: string;
  data?: Record<string, unknown>;
}

/** What a check reads: the clients, the state file, and now (the sandbox's clock in a sandbox). */
export interface HealthInput {
  aws: Pick<AwsClients, 'elbv2' | 'autoscaling' | 'rds' | 'elasticache' | 'acm'>;
  state: StateDoc;
  now: number;
  profile?: string | undefined;
}

/** A check: nothing when its step recorded no outputs (not installed that far), else one read-only look. */
export type Check = (input: HealthInput) => Promise<HealthCheck> | undefined;

/** The step's recorded outputs, or undefined when there are none that fit its schema. */
export function outputsOf<T>(state: StateDoc, step: StepRef<string, T>): T | undefined {
  const read = readOutputs(step, state.steps[step.id]?.outputs);
  return read.ok ? (read.value as T) : undefined;
}

/**
 * A check that asks AWS: its answer, or `unknown` with the reason in the operator's words (one
 * check denied, say, does not hide the others).
 */
export async function asking(
  input: HealthInput,
  base: Pick<HealthCheck, 'id' | 'title'>,
  look: () => Promise<Omit<HealthCheck, 'id' | 'title'>>,
): Promise<HealthCheck> {
  try {
    return { ...base, ...(await look()) };
  } catch (err) {
    const { message, fix } = explain(err, { profile: input.profile });
    return { ...base, state: 'unknown', text: `not known: ${message}${fix ? ` (fix: ${fix})` : ''}` };
  }
}
