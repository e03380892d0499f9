import type { InstallConfig } from '../config/schema.js';
import { criticalPathMinutes, earliestSchedule, waves, type Node } from './graph.js';
import type { EngineStep, PlannedResource } from './step.js';

/** Stands for the AWS account in bucket names until the account is known. */
export const ACCOUNT_PLACEHOLDER = '<account>';

export type PlanResource = PlannedResource & { step: string };

export interface PlanView {
  deployment: string;
  region: string;
  sandbox: boolean;
  account?: string;
  /** Each step with the wave it can start in and, in typical minutes from the start, when it can start and finish. */
  steps: Array<{ id: string; title: string; needs: string[]; wave: number; status: string; start: number; finish: number }>;
  /** Every resource the install will create, in the guide's order of steps. */
  resources: PlanResource[];
  /**
   * The guide's sections, in its order, each with its steps and what they create; `start` and
   * `finish` are when its first step can start and its last can finish on the earliest schedule.
   */
  sections: Array<{ title: string; steps: string[]; resources: PlanResource[]; start: number; finish: number }>;
  /** How many of `resources` still stand once the install is done (those not `retiredBy` a step). */
  remaining: number;
  /** Typical minutes if every step ran one after another, and along the critical path. */
  serialMinutes: number;
  criticalPathMinutes: number;
}

export type PlanStep = Node & Pick<EngineStep, 'resources'>;

/** The guide as the plan reads it: its steps in order, and its sections, each naming its steps. */
export interface PlanGuide {
  steps: readonly PlanStep[];
  sections: ReadonlyArray<{ title: string; steps: readonly string[] }>;
}

/**
 * The plan comes from the same step graph that runs the install (never a second list): steps in
 * the guide's order, each with the wave it can start in and the resources it declares for these
 * answers, grouped by the guide's sections (given with the steps, so the engine knows no step). A
 * pure function: nothing is asked of AWS.
 */
export function buildPlan(
  { steps, sections }: PlanGuide,
  config: InstallConfig,
  sandbox: boolean,
  statusOf: (id: string) => string,
  account?: string,
): PlanView {
  const waveOf = new Map<string, number>();
  waves(steps).forEach((wave, i) => wave.forEach((s) => waveOf.set(s.id, i + 1)));
  const schedule = earliestSchedule(steps);
  const resources = steps.flatMap((s) => (s.resources?.(config, account ?? ACCOUNT_PLACEHOLDER) ?? []).map((r) => ({ step: s.id, ...r })));
  return {
    deployment: config.deployment,
    region: config.region,
    sandbox,
    ...(account ? { account } : {}),
    steps: steps.map((s) => ({
      id: s.id,
      title: s.title,
      needs: [...s.needs],
      wave: waveOf.get(s.id)!,
      status: statusOf(s.id),
      ...schedule.get(s.id)!,
    })),
    resources,
    sections: sections
      .map((section) => {
        const ids = steps.map((s) => s.id).filter((id) => section.steps.includes(id));
        const times = ids.map((id) => schedule.get(id)!);
        return {
          title: section.title,
          steps: ids,
          resources: resources.filter((r) => ids.includes(r.step)),
          start: Math.min(...times.map((t) => t.start)),
          finish: Math.max(...times.map((t) => t.finish)),
        };
      })
      .filter((section) => section.steps.length > 0),
    remaining: resources.filter((r) => !r.retiredBy).length,
    serialMinutes: steps.reduce((sum, s) => sum + s.minutes, 0),
    criticalPathMinutes: criticalPathMinutes(steps),
  };
}
