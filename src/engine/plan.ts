import type { InstallConfig } from '../config/schema.js';
import { criticalPathMinutes, waves, type Node } from './graph.js';
import type { EngineStep } from './step.js';

/** Stands for the AWS account in bucket names until the account is known. */
export const ACCOUNT_PLACEHOLDER = '<account>';

export interface PlanView {
  deployment: string;
  region: string;
  sandbox: boolean;
  account?: string;
  steps: Array<{ id: string; title: string; needs: string[]; wave: number; status: string }>;
  /** Every resource the install will create, in the guide's order of steps. */
  resources: Array<{ step: string; type: string; name: string }>;
  /** Typical minutes if every step ran one after another, and along the critical path. */
  serialMinutes: number;
  criticalPathMinutes: number;
}

export type PlanStep = Node & Pick<EngineStep, 'resources'>;

/**
 * The plan comes from the same step graph that runs the install (never a second list): steps in
 * the guide's order, each with the wave it can start in and the resources it declares for these
 * answers. A pure function: nothing is asked of AWS.
 */
export function buildPlan(
  steps: readonly PlanStep[],
  config: InstallConfig,
  sandbox: boolean,
  statusOf: (id: string) => string,
  account?: string,
): PlanView {
  const waveOf = new Map<string, number>();
  waves(steps).forEach((wave, i) => wave.forEach((s) => waveOf.set(s.id, i + 1)));
  return {
    deployment: config.deployment,
    region: config.region,
    sandbox,
    ...(account ? { account } : {}),
    steps: steps.map((s) => ({ id: s.id, title: s.title, needs: [...s.needs], wave: waveOf.get(s.id)!, status: statusOf(s.id) })),
    resources: steps.flatMap((s) => (s.resources?.(config, account ?? ACCOUNT_PLACEHOLDER) ?? []).map((r) => ({ step: s.id, ...r }))),
    serialMinutes: steps.reduce((sum, s) => sum + s.minutes, 0),
    criticalPathMinutes: criticalPathMinutes(steps),
  };
}
