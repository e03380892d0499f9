import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { buildInstallConfig, type ConfigFile } from '../src/config/schema.js';
import { versionFeatures } from '../src/gitlab/versions.js';
import { readState } from '../src/state/store.js';
import { gitlabImageFor } from '../src/steps/machine-images.js';
import { runCli, tempDir } from './helpers.js';

/** Every fact the renderers show as `<...: known after STEP>` before STEP has run. */
const PLACEHOLDER = /<([^<>]+): known after ([a-z-]+)>/g;
const placeholders = (text: string) => [...text.matchAll(PLACEHOLDER)].map((m) => ({ what: m[1]!, step: m[2]! }));

const RENDERS = [
  ['gitlab-rb', '--node', 'rails'],
  ['gitlab-rb', '--node', 'rails', '--role', 'clone'],
  ['gitlab-rb', '--node', 'gitaly'],
  ['user-data', '--node', 'rails'],
  ['user-data', '--node', 'rails', '--role', 'clone'],
  ['user-data', '--node', 'gitaly'],
  ['user-data', '--node', 'bastion'],
];

async function renderAll(dir: string, extra: string[] = []) {
  const out: Record<string, string> = {};
  for (const args of RENDERS) {
    const run = await runCli(['render', ...args, '--sandbox', '--state-dir', dir, ...extra]);
    expect(run.code, run.stderr).toBe(0);
    out[args.join(' ')] = run.stdout;
  }
  return out;
}

describe('gitlab-aws render', () => {
  it('before install: the answers, a placeholder for each fact AWS has not told yet, and nothing written', async () => {
    const dir = await tempDir();
    const texts = await renderAll(dir, ['--proxy-protocol']);
    const rails = texts['gitlab-rb --node rails']!;
    expect(rails).toMatch(/^# gitlab\.rb of a GitLab Rails node \(rails-base\)/);
    expect(rails).toContain("external_url 'https://gitlab.example.com'");
    expect(rails).toContain("gitlab_rails['db_host'] = '<database host: known after rds-postgres>'");
    expect(rails).toContain("'gitaly_address' => 'tcp://<gitaly private IP: known after gitaly>:8075'");
    expect(rails).toContain("gitlab_rails['monitoring_whitelist'] = ['127.0.0.0/8', '::1/128', '10.0.0.0/16']");
    expect(rails).toContain("gitlab_rails['auto_migrate'] = true");
    // The answer --proxy-protocol reaches nginx (newest release assumed: the 19.3+ key form).
    expect(rails).toContain("gitlab_rails['nginx']['proxy_protocol'] = true");
    expect(texts['gitlab-rb --node rails --role clone']).toContain("gitlab_rails['auto_migrate'] = false");
    // A Rails node's: the cloud-config part that removes the AMI's first-boot script, then the script.
    expect(texts['user-data --node rails']).toMatch(
      /^Content-Type: multipart\/mixed;[\s\S]*\n#!\/bin\/bash\n# gitlab-aws node: rails-base\n/,
    );
    expect(texts['user-data --node rails']).toContain(
      "fetch_secret '/gitlab-aws/gitlab/gitaly-token' '/etc/gitlab/gitlab-aws-secrets/gitaly-token'",
    );
    expect(texts['user-data --node rails --role clone']).toMatch(
      /^Content-Type: multipart\/mixed;[\s\S]*\n#!\/bin\/bash\n# gitlab-aws node: rails-clone\n/,
    );
    expect(texts['user-data --node gitaly']).toContain('# gitlab-aws node: gitaly');
    expect(texts['user-data --node bastion']).toContain('gitlab-bastion-host-a');
    // Exactly the file: the command adds one final newline, no decoration.
    expect(texts['gitlab-rb --node gitaly']!.endsWith('}\n')).toBe(true);
    // --json: the same text, with what it is.
    const json = await runCli(['render', 'gitlab-rb', '--node', 'gitaly', '--sandbox', '--json', '--state-dir', dir]);
    expect(JSON.parse(json.stdout)).toEqual({ what: 'gitlab-rb', node: 'gitaly', text: texts['gitlab-rb --node gitaly'] });
    // A review touches nothing: no state file, no sandbox account.
    expect(await readdir(dir)).toEqual([]);
  });

  it('after install: the recorded outputs replace the placeholders of every step that ran', async () => {
    const dir = await tempDir();
    const before = await renderAll(dir);
    const install = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir]);
    expect(install.code, install.stderr).toBe(0);
    const state = (await readState(join(dir, 'gitlab.json')))!;
    const complete = (step: string) => state.steps[step]?.status === 'complete';
    const after = await renderAll(dir);

    for (const [args, text] of Object.entries(before)) {
      for (const { step } of placeholders(text)) {
        const still = placeholders(after[args]!).filter((p) => p.step === step);
        expect(still, `${args}: ${step}`).toEqual(complete(step) ? [] : placeholders(text).filter((p) => p.step === step));
      }
    }
    const db = state.steps['rds-postgres']!.outputs as { address: string };
    const cache = state.steps['elasticache']!.outputs as { primaryEndpoint: { address: string } };
    const rails = after['gitlab-rb --node rails']!;
    expect(rails).toContain(`gitlab_rails['db_host'] = '${db.address}'`);
    expect(rails).toContain(`gitlab_rails['redis_host'] = '${cache.primaryEndpoint.address}'`);
    // Bucket names now carry the sandbox account, not <account>.
    expect(rails).not.toContain('<account>');
    expect(rails).toMatch(/\['artifacts'\]\['bucket'\] = 'gl-gitlab-\d{12}-artifacts'/);
    if (complete('gitaly')) {
      const gitaly = state.steps['gitaly']!.outputs as { privateIp: string };
      expect(rails).toContain(`tcp://${gitaly.privateIp}:8075`);
    }
    // Whatever placeholder is left names a step that has not run (the compute steps, until built).
    for (const text of Object.values(after)) for (const { step } of placeholders(text)) expect(complete(step), step).toBe(false);
  });

  it('refuses what it cannot render in one line, exit 2', async () => {
    const dir = await tempDir();
    const cases: Array<[string[], RegExp]> = [
      [['render'], /^error: render needs what to print \(fix: .*gitlab-aws render gitlab-rb --node rails/],
      [
        ['render', 'nginx.conf', '--node', 'rails'],
        /^error: what to render 'nginx\.conf' is not one of gitlab-rb, user-data \(fix: use gitlab-rb or user-data\)/,
      ],
      [['render', 'gitlab-rb'], /^error: no --node given \(fix: use --node rails or --node gitaly\)/],
      [['render', 'gitlab-rb', '--node', 'bastion'], /^error: --node 'bastion' is not one of rails, gitaly/],
      [['render', 'user-data', '--node', 'rails', '--role', 'primary'], /^error: --role 'primary' is not one of base, clone/],
      [['render', 'user-data', '--node', 'gitaly', '--role', 'clone'], /^error: --role is for --node rails only/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli([...args, '--sandbox', '--state-dir', dir]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim(), args.join(' ')).toMatch(message);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  describe('a GitLab version left open renders the release install would take', () => {
    /** What machine-images would resolve these answers to in the sandbox region: its own lookup. */
    async function installWouldTake(file: ConfigFile): Promise<string> {
      const aws = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: await tempDir() } });
      try {
        const config = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', file, sandbox: true });
        return (await gitlabImageFor(await aws.ec2(), config)).version;
      } finally {
        await aws.close();
      }
    }
    const nginxPort = (version: string) =>
      versionFeatures(version).nginxUnderRails ? "gitlab_rails['nginx']['listen_port'] = 80" : "nginx['listen_port'] = 80";

    it('--gitlab-version 18 or 18.11 with --sandbox: the newest such release the sandbox offers, in its header and its form', async () => {
      const dir = await tempDir();
      for (const asked of ['18', '18.11', undefined]) {
        const version = await installWouldTake(asked ? { gitlab: { version: asked } } : {});
        expect(version.startsWith(asked ?? '')).toBe(true);
        const flags = asked ? ['--gitlab-version', asked] : [];
        const run = await runCli(['render', 'user-data', '--node', 'rails', ...flags, '--sandbox', '--state-dir', dir]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toBe('');
        expect(run.stdout).toContain(`# gitlab.rb of a GitLab Rails node (rails-base), GitLab EE ${version}, written by gitlab-aws.`);
        expect(run.stdout).toContain(nginxPort(version));
        expect(run.stdout).not.toContain('known after machine-images');
        const gitaly = await runCli(['render', 'user-data', '--node', 'gitaly', ...flags, '--sandbox', '--state-dir', dir]);
        expect(gitaly.stdout).toContain(`gitlab-ee=${version}-ee.0`);
      }
      // 18 is not the newest major: its form is not the newest release's.
      expect(nginxPort(await installWouldTake({ gitlab: { version: '18' } }))).not.toBe(nginxPort(await installWouldTake({})));
      // Looking touches nothing: no state file, no sandbox account.
      expect(await readdir(dir)).toEqual([]);
    });

    it('a version the region does not offer is refused as install refuses it, exit 2', async () => {
      const dir = await tempDir();
      const run = await runCli(['render', 'gitlab-rb', '--node', 'rails', '--gitlab-version', '18.5', '--sandbox', '--state-dir', dir]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toMatch(
        /^error: the official GitLab EE AMIs in us-west-2 offer no version 18\.5 \(they offer 18\.11\.3, .*\(fix: /,
      );
      expect(run.stdout).toBe('');
    });

    it('without AWS it says the exact release is resolved at install and renders the form of the newest 18.x', async () => {
      const dir = await tempDir();
      // The test setup's AWS is a closed port: every call fails as with no network.
      const run = await runCli([
        'render',
        'gitlab-rb',
        '--node',
        'rails',
        '--gitlab-version',
        '18',
        '--region',
        'us-west-2',
        '--state-dir',
        dir,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const warning = run.stderr.trim().split('\n');
      expect(warning).toHaveLength(1);
      expect(warning[0]).toMatch(
        /^warning: could not ask AWS which GitLab EE 18 release the official AMIs offer in us-west-2 \(.*\): the exact release is resolved at install; shown as 18\.x/,
      );
      expect(run.stdout).toContain('GitLab EE 18.x, written by gitlab-aws.');
      expect(run.stdout).toContain(nginxPort('18.x'));
      expect(nginxPort('18.x')).toBe(nginxPort(await installWouldTake({ gitlab: { version: '18' } })));
      expect(await readdir(dir)).toEqual([]);
    });
  });
});
