import { ACCOUNT_PLACEHOLDER, type PlanView } from '../src/engine/plan.js';
import { inInventory, readWorld, runCli, sandboxInventory } from './helpers.js';

export type PlannedResource = PlanView['resources'][number];

/** What `plan --json` says an install with these answers will create (run before installing). */
export async function planFor(dir: string, args: string[] = []): Promise<PlannedResource[]> {
  const run = await runCli(['plan', '--sandbox', '--json', '--state-dir', dir, ...args]);
  if (run.code !== 0) throw new Error(`plan failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as PlanView).resources;
}

/**
 * The plan and what the sandbox account holds for the deployment, in one comparable form:
 * "step type name", sorted. The account's ID takes the place of the plan's placeholder.
 */
export async function heldAndPlanned(dir: string, plan: PlannedResource[], deployment = 'gitlab') {
  const account = (await readWorld(dir))?.accountId ?? ACCOUNT_PLACEHOLDER;
  const planned = plan
    .filter(inInventory)
    .map((r) => `${r.step} ${r.type} ${r.name.replace(ACCOUNT_PLACEHOLDER, account)}`)
    .sort();
  const held = (await sandboxInventory(dir, deployment)).map((r) => `${r.step} ${r.type} ${r.name}`).sort();
  return { held, planned };
}
