import { createAwsSession } from '../../aws/clients.js';
import { explain } from '../../aws/errors.js';
import type { InstallConfig } from '../../config/schema.js';
import { EXIT, badInput, type ExitCode } from '../../errors.js';
import type { GitlabRelease } from '../../gitlab/inputs.js';
import { gitlabImageFor, ImageRefusal } from '../../steps/machine-images.js';
import type { IoHost } from '../../ui/host.js';
import { renderGitalyGitlabRb, renderRailsGitlabRb } from '../../gitlab/gitlab-rb.js';
import { factsFromOutputs, gitalyNodeInput, isExactVersion, railsNodeInput } from '../../gitlab/node-inputs.js';
import { renderBastionUserData, renderGitalyUserData, renderRailsUserData } from '../../gitlab/user-data.js';
import { guideNames, ZONES } from '../../steps/names.js';
import type { StateDoc } from '../../state/schema.js';
import { resolveDeployment } from '../deployment.js';
import type { CommandContext, GlobalOptions } from '../options.js';

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
 * The release install would take for these answers when they leave it open (`18`, `18.11`, or
 * none: the newest), by machine-images' own lookup: the region's official AMIs (the sandbox's in
 * --sandbox), one read-only DescribeImages. A version the region does not offer is refused as
 * install would refuse it. Without AWS (no credentials, no network) the renderers show the
 * answer's newest form (`18.x`) and a warning says the exact release is resolved at install.
 */
async function lookUpRelease(options: GlobalOptions, config: InstallConfig, host: IoHost): Promise<GitlabRelease | undefined> {
  const aws = await createAwsSession({
    region: config.region,
    quick: true,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.sandbox ? { sandbox: { stateDir: options.stateDir } } : {}),
  });
  try {
    const image = await gitlabImageFor(await aws.ec2(), config);
    return { edition: image.edition, version: image.version };
  } catch (err) {
    if (err instanceof ImageRefusal) throw badInput(err.refusal, err.fix);
    const asked = config.gitlab.version;
    host.notify({
      level: 'warn',
      code: 'warn.render-release',
      text:
        `warning: could not ask AWS which GitLab ${config.gitlab.edition.toUpperCase()} ${asked ? `${asked} ` : ''}release the official AMIs offer in ${config.region} ` +
        `(${explain(err, { profile: options.profile }).message}): the exact release is resolved at install; shown as ${asked ? `${asked}.x, the form its newest release reads` : 'the newest form'}`,
    });
    return undefined;
  } finally {
    await aws.close();
  }
}

/**
 * `render`: the gitlab.rb or user-data install would give a node of this deployment, built by the
 * same functions from the same facts: the state file's outputs once those steps ran, else the
 * answers with a placeholder for each fact AWS has not told yet. The one question it may ask AWS
 * is the release (lookUpRelease), when the answers leave it open; it writes nothing.
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
  if (node !== 'bastion' && !facts.release && !isExactVersion(config.gitlab.version)) {
    const release = await lookUpRelease(options, config, host);
    if (release) facts.release = release;
  }

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
