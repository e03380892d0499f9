import { EXIT, badInput, type ExitCode } from '../../errors.js';
import { renderGitalyGitlabRb, renderRailsGitlabRb } from '../../gitlab/gitlab-rb.js';
import { factsFromOutputs, gitalyNodeInput, railsNodeInput } from '../../gitlab/node-inputs.js';
import { renderBastionUserData, renderGitalyUserData, renderRailsUserData } from '../../gitlab/user-data.js';
import { guideNames, ZONES } from '../../steps/names.js';
import type { StateDoc } from '../../state/schema.js';
import { resolveDeployment } from '../deployment.js';
import type { CommandContext } from '../options.js';

export interface RenderOptions {
  what?: string;
  node?: string;
  role?: string;
  zone?: string;
}

const NODES = { 'gitlab-rb': ['rails', 'gitaly'], 'user-data': ['rails', 'gitaly', 'bastion'] } as const;
type What = keyof typeof NODES;

/** One of `allowed` (or the default when none is given), else an exit-2 line naming them. */
function choose<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (value !== undefined && (allowed as readonly string[]).includes(value)) return value as T;
  const said = value === undefined ? `no ${flag} given` : `${flag} '${value}' is not one of ${allowed.join(', ')}`;
  return throwBadInput(said, `use ${allowed.map((a) => `${flag.startsWith('--') ? `${flag} ` : ''}${a}`).join(' or ')}`);
}

function throwBadInput(message: string, hint: string): never {
  throw badInput(message, hint);
}

/** What the steps recorded as complete: their outputs are the facts install uses next. */
function recordedOutputs(state: StateDoc | undefined): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(state?.steps ?? {})
      .filter(([, step]) => step.status === 'complete' && step.outputs)
      .map(([id, step]) => [id, step.outputs]),
  );
}

/**
 * `render`: the gitlab.rb or user-data install would give a node of this deployment, built by the
 * same functions from the same facts: the state file's outputs once those steps ran, else the
 * answers with a placeholder for each fact AWS has not told yet. Never calls AWS, writes nothing.
 */
export async function render(ctx: CommandContext, own: RenderOptions): Promise<ExitCode> {
  const { options, host } = ctx;
  if (own.what === undefined)
    throw badInput('render needs what to print', 'name it: gitlab-aws render gitlab-rb --node rails (or user-data)');
  const what = choose<What>(own.what, Object.keys(NODES) as What[], 'what to render');
  const node = choose(own.node, NODES[what], '--node');
  if (own.role !== undefined && node !== 'rails') throw badInput(`--role is for --node rails only`, 'drop --role');
  if (own.zone !== undefined && node !== 'bastion') throw badInput(`--zone is for --node bastion only`, 'drop --zone');
  const role = choose(own.role, ['base', 'clone'] as const, '--role', 'base');
  const zone = choose(own.zone, ZONES, '--zone', 'a');
  const { config, state } = await resolveDeployment(options);
  const facts = factsFromOutputs(recordedOutputs(state));

  let text: string;
  if (node === 'bastion') text = renderBastionUserData({ name: guideNames(config.deployment).bastion(zone) });
  else if (node === 'gitaly') {
    const input = gitalyNodeInput(config, facts);
    text = what === 'gitlab-rb' ? renderGitalyGitlabRb(input) : renderGitalyUserData(input);
  } else {
    const input = railsNodeInput(config, role, facts);
    text = what === 'gitlab-rb' ? renderRailsGitlabRb(input) : renderRailsUserData(input);
  }
  // Printed as it would be written: the host ends the text with its own newline.
  host.notify({
    level: 'result',
    code: 'render',
    text: text.replace(/\n$/, ''),
    data: { what, node, ...(node === 'rails' && { role }), ...(node === 'bastion' && { zone }), text },
  });
  return EXIT.ok;
}
