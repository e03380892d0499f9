import type { z } from 'zod';
import type { StepRef } from '../../engine/step.js';
import type { StateDoc } from '../../state/schema.js';
import { autoScalingGroup } from '../../steps/auto-scaling-group.js';
import { bastionHosts } from '../../steps/bastion-hosts.js';
import { hostedZone } from '../../steps/hosted-zone.js';
import { sshThroughBastion } from '../../steps/instances.js';
import type { Message } from '../../ui/host.js';
import { commandLine, type GlobalOptions } from '../options.js';

/** What the guide leaves to the administrator once GitLab answers, each done once, by hand. */
export const FOLLOW_UPS = [
  {
    id: 'authorized-keys',
    text:
      'Once Git over SSH works, stop writing authorized_keys (the nodes look keys up in the database): ' +
      'Admin > Settings > Network > Performance optimization, clear "Use authorized_keys file to authenticate SSH keys", ' +
      'or the API: PUT /api/v4/application/settings?authorized_keys_enabled=false',
  },
  {
    id: 'runner',
    text: 'For CI/CD, register at least one runner: https://docs.gitlab.com/runner/ (on AWS: https://docs.gitlab.com/runner/configuration/runner_autoscale_aws/)',
  },
] as const;

type Options = Pick<GlobalOptions, 'deployment' | 'stateDir' | 'sandbox' | 'profile'>;

function outputsOf<T>(state: StateDoc, step: StepRef<string, T>): T | undefined {
  const parsed = (step.outputs as z.ZodType<T>).safeParse(state.steps[step.id]?.outputs);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The end of a successful install, in one message: where GitLab is, how to sign in, how to reach
 * the hosts (agent forwarding through a bastion, as the guide says), the name servers of a zone
 * we created, and what the guide still leaves to the administrator.
 */
export function installSummary(options: Options, state: StateDoc): Message {
  const url = state.config.domain ? `https://${state.config.domain}` : undefined;
  const rootPassword = commandLine(options, 'root-password');
  const bastions = (outputsOf(state, bastionHosts)?.hosts ?? []).map((h) => ({
    name: h.name,
    publicIp: h.publicIp,
    ssh: `ssh -A ubuntu@${h.publicIp}`,
  }));
  const jump = bastions[0]?.publicIp;
  const nodes = (outputsOf(state, autoScalingGroup)?.instances ?? []).map((i) => ({
    ...i,
    ...(jump && i.privateIp ? { ssh: sshThroughBastion(jump, i.privateIp) } : {}),
  }));
  const zone = outputsOf(state, hostedZone);
  const nameServers = zone?.created ? { zone: zone.zoneName, nameServers: zone.nameServers } : undefined;

  const text = [
    url ? `GitLab: ${url}` : 'GitLab: no domain recorded',
    `Sign in as root; the password: ${rootPassword}`,
    ...(bastions.length
      ? ['Bastion hosts (ssh -A forwards your agent, as the guide says):', ...bastions.map((b) => `  ${b.ssh}    # ${b.name}`)]
      : []),
    ...(nodes.length ? ['A GitLab node, through bastion A:', ...nodes.map((n) => `  ${n.ssh ?? n.privateIp}    # ${n.instanceId}`)] : []),
    ...(nameServers
      ? [`Hosted zone ${nameServers.zone} was created: set its name servers at your registrar: ${nameServers.nameServers.join(' ')}`]
      : []),
    'Still to do once, by hand:',
    ...FOLLOW_UPS.map((f) => `  - ${f.text}`),
  ].join('\n');

  return {
    level: 'info',
    code: 'install.summary',
    text,
    data: {
      url,
      rootPassword: { username: 'root', command: rootPassword },
      bastions,
      gitlabNodes: nodes,
      ...(nameServers ? { nameServers } : {}),
      followUps: FOLLOW_UPS.map((f) => ({ ...f })),
    },
  };
}
