import { ACCOUNT_PLACEHOLDER, type PlanView } from '../src/engine/plan.js';
import { readState, statePaths } from '../src/state/store.js';
import { inInventory, readWorld, runCli, sandboxInventory } from './helpers.js';

export type PlannedResource = PlanView['resources'][number];

/** What `plan --json` says an install with these answers will create (run before installing). */
export async function planFor(dir: string, args: string[] = []): Promise<PlannedResource[]> {
  const run = await runCli(['plan', '--sandbox', '--json', '--state-dir', dir, ...args]);
  if (run.code !== 0) throw new Error(`plan failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as PlanView).resources;
}

/**
 * What takes no tags (a scaling policy) is attributed by an inventory through what it hangs off
 * (its group), so only its type and name can be compared, not the step that made it.
 */
const UNTAGGED = ['AWS::AutoScaling::ScalingPolicy'];
/** Whether an inventory knows which step made a resource of this type (from the resource's own tags). */
export const stepKnown = (type: string) => !UNTAGGED.includes(type);
const comparable = (entry: string) => {
  const [step, type, ...name] = entry.split(' ');
  return !stepKnown(type!) ? `~ ${type} ${name.join(' ')}` : `${step} ${entry.slice(step!.length + 1)}`;
};

/** A planned entry with parts known only at install time (`<yyyymmddThhmmZ>`, `<version>`), as a pattern. */
function pattern(entry: string): RegExp | undefined {
  if (!/<[^>]+>/.test(entry)) return undefined;
  const parts = entry.split(/<[^>]+>/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^ ]+')}$`);
}

/**
 * The plan and what the sandbox account holds for the deployment, in one comparable form:
 * "step type name", sorted. The account's ID takes the place of the plan's placeholder; a name the
 * plan can only show as a pattern (the AMI's, stamped with the time of the bake) takes the held name
 * it matches. A resource the plan marks `retiredBy` a step (the base instance) is planned (the
 * install makes it) but no longer held once that step is complete. A scaling policy is compared by type and name (`~` for its step).
 */
export async function heldAndPlanned(dir: string, plan: PlannedResource[], deployment = 'gitlab') {
  const account = (await readWorld(dir))?.accountId ?? ACCOUNT_PLACEHOLDER;
  const state = await readState(statePaths(dir, deployment).file);
  const retired = (r: PlannedResource) => r.retiredBy !== undefined && state?.steps[r.retiredBy]?.status === 'complete';
  const held = (await sandboxInventory(dir, deployment)).map((r) => comparable(`${r.step} ${r.type} ${r.name}`)).sort();
  const unmatched = [...held];
  const planned = plan
    .filter(inInventory)
    .filter((r) => !retired(r))
    .map((r) => comparable(`${r.step} ${r.type} ${r.name.replace(ACCOUNT_PLACEHOLDER, account)}`))
    .map((entry) => {
      const re = pattern(entry);
      const match = re && unmatched.find((h) => re.test(h));
      if (!match) return entry;
      unmatched.splice(unmatched.indexOf(match), 1);
      return match;
    })
    .sort();
  return { held, planned };
}
