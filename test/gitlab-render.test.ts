import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildInstallConfig } from '../src/config/schema.js';
import { renderGitalyGitlabRb, renderRailsGitlabRb } from '../src/gitlab/gitlab-rb.js';
import type { GitalyNodeInput, RailsNodeInput } from '../src/gitlab/inputs.js';
import { factsFromOutputs, gitalyNodeInput, railsNodeInput } from '../src/gitlab/node-inputs.js';
import { SSM_TOOL_PY } from '../src/gitlab/ssm-tool.js';
import { versionFeatures } from '../src/gitlab/versions.js';
import {
  READY_FOR_IMAGING,
  renderBastionUserData,
  renderGitalyUserData,
  renderRailsScript,
  renderRailsUserData,
} from '../src/gitlab/user-data.js';
import { OBJECT_STORAGE_TYPES } from '../src/steps/names.js';
import { SECRETS, type SecretName } from '../src/steps/secrets.js';
import { NODE_CONFIG, nodeFacts } from './node-facts.js';

const scratch = mkdtempSync(join(tmpdir(), 'gitlab-aws-render-'));
let files = 0;
/** Runs a checker on the text as a file; returns its complaints (empty when it accepts the text). */
function check(command: string, args: string[], text: string, suffix: string): string {
  const file = join(scratch, `${files++}${suffix}`);
  writeFileSync(file, text);
  const run = spawnSync(command, [...args, file], { encoding: 'utf8' });
  if (run.error) throw run.error;
  return run.status === 0 ? '' : `${run.stdout}${run.stderr}`;
}

/**
 * Evaluates a gitlab.rb the way omnibus does (Ruby against auto-vivifying settings), with each
 * secret file reading as `secret:<name>`, and returns the settings it made.
 */
const EVALUATE_GITLAB_RB = `
require 'json'
class Settings < Hash
  def [](key) = key?(key) ? super : (self[key] = Settings.new)
end
settings = Settings.new
config = Object.new
config.define_singleton_method(:method_missing) { |name, *args| args.empty? ? settings[name.to_s] : (settings[name.to_s] = args.length == 1 ? args[0] : args) }
secrets = '/etc/gitlab/gitlab-aws-secrets/'
File.singleton_class.prepend(Module.new { define_method(:read) { |path, *rest| path.start_with?(secrets) ? "secret:#{path.delete_prefix(secrets)}\\n" : super(path, *rest) } })
config.instance_eval(File.read(ARGV[0]), ARGV[0])
puts JSON.generate(settings)
`;
// What gitlab.rb set is whatever JSON Ruby printed: read freely.
function evaluate(rb: string): any {
  const file = join(scratch, `${files++}.rb`);
  writeFileSync(file, rb);
  return JSON.parse(execFileSync('ruby', ['-e', EVALUATE_GITLAB_RB, file], { encoding: 'utf8' }));
}

const config = NODE_CONFIG;
const facts = nodeFacts;

/** Every text the renderers make for one deployment at one version. */
function renderAll(version: string, proxyProtocol = false) {
  const known = facts(version, proxyProtocol);
  const base = railsNodeInput(config, 'base', known);
  const clone = railsNodeInput(config, 'clone', known);
  const gitaly = gitalyNodeInput(config, known);
  return {
    base,
    clone,
    gitaly,
    railsRb: renderRailsGitlabRb(base),
    cloneRb: renderRailsGitlabRb(clone),
    gitalyRb: renderGitalyGitlabRb(gitaly),
    baseData: renderRailsScript(base),
    cloneData: renderRailsScript(clone),
    baseUserData: renderRailsUserData(base),
    gitalyData: renderGitalyUserData(gitaly),
    bastionData: renderBastionUserData({ name: 'gitlab-bastion-host-a' }),
  };
}

/** The heredoc body between `<<'END'` and `END`. */
function heredoc(script: string, delimiter: string): string {
  const match = new RegExp(`<<'${delimiter}'\\n([\\s\\S]*?)\\n${delimiter}\\n`).exec(script);
  if (!match) throw new Error(`no ${delimiter} heredoc`);
  return match[1]!;
}

/** Each fetch_secret line: secret file -> parameter. */
function fetched(script: string): Map<string, string> {
  return new Map([...script.matchAll(/^fetch_secret '([^']+)' '([^']+)'$/gm)].map((m) => [m[2]!, m[1]!]));
}

const VERSIONS = ['18.11.2', '19.2.4', '19.5.1'];

/** The object types a release knows: agent_plan_content from 19.1 (a bucket for it exists whatever the release). */
const knownTypes = (version: string) => OBJECT_STORAGE_TYPES.filter((type) => type !== 'agent_plan_content' || !version.startsWith('18.'));

describe.each(VERSIONS)('GitLab %s', (version) => {
  const r = renderAll(version, true);
  const plain = renderAll(version, false);

  test('both gitlab.rb pass ruby -c, with and without proxy protocol', () => {
    for (const text of [r.railsRb, r.cloneRb, r.gitalyRb, plain.railsRb]) expect(check('ruby', ['-c'], text, '.rb')).toBe('');
  });

  test('every user-data passes bash -n and shellcheck', () => {
    for (const text of [r.baseData, r.cloneData, r.gitalyData, r.bastionData, plain.baseData]) {
      expect(check('bash', ['-n'], text, '.sh')).toBe('');
      expect(check('shellcheck', ['--shell=bash'], text, '.sh')).toBe('');
    }
  });

  test('a command that fails makes every script say so on the console, so the install stops waiting', () => {
    for (const text of [r.baseData, r.cloneData, r.gitalyData, r.bastionData]) {
      // The trap as the script sets it, run with the console swapped for stdout and a failing command.
      const lines = text.split('\n');
      const trap = lines.find((line) => line.startsWith('trap '))!;
      const step = lines.find((line) => line.startsWith('step() '))!;
      const program = `set -Eeuo pipefail\n${trap}\n${step}\nstep 'reading'\nf() { false; }\nf\necho unreachable`;
      const run = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
      expect(run.status).not.toBe(0);
      // -E: the trap fires inside a function too, once, naming the step.
      expect(run.stdout).toBe('gitlab-aws: reading\ngitlab-aws: boot failed at reading (line 5)\n');
    }
  });

  test('the Rails gitlab.rb: URL, database, Redis, Gitaly, object storage, backups, allowlist, root password', () => {
    const rb = r.railsRb;
    expect(rb).toMatch(/^external_url 'https:\/\/gitlab\.example\.com'$/m);
    expect(rb).toContain("letsencrypt['enable'] = false");
    expect(rb).toContain("postgresql['enable'] = false");
    expect(rb).toContain("gitlab_rails['db_host'] = 'gitlab-db-ha.abc123.us-west-2.rds.amazonaws.com'");
    expect(rb).toContain("gitlab_rails['db_port'] = 5432");
    expect(rb).toContain("gitlab_rails['db_database'] = 'gitlabhq_production'");
    expect(rb).toContain("gitlab_rails['db_username'] = 'gitlab'");
    expect(rb).toContain("gitlab_rails['db_password'] = File.read('/etc/gitlab/gitlab-aws-secrets/database-password').strip");
    expect(rb).toContain("redis['enable'] = false");
    expect(rb).toContain("gitlab_rails['redis_host'] = 'master.gitlab-redis.abc123.usw2.cache.amazonaws.com'");
    expect(rb).toContain("gitlab_rails['redis_port'] = 6379");
    expect(rb).toContain("gitlab_rails['redis_ssl'] = true");
    expect(rb).toContain("gitlab_rails['redis_password'] = File.read('/etc/gitlab/gitlab-aws-secrets/redis-auth-token').strip");
    expect(rb).toContain("gitaly['enable'] = false");
    expect(rb).toContain("gitlab_rails['gitaly_token'] = File.read('/etc/gitlab/gitlab-aws-secrets/gitaly-token').strip");
    expect(rb).toContain("gitlab_rails['repositories_storages'] = { 'default' => { 'gitaly_address' => 'tcp://10.0.1.25:8075' } }");
    expect(rb).toContain("gitlab_rails['object_store']['enabled'] = true");
    expect(rb).toContain(
      "gitlab_rails['object_store']['connection'] = { 'provider' => 'AWS', 'region' => 'us-west-2', 'use_iam_profile' => true }",
    );
    for (const type of knownTypes(version)) {
      expect(rb).toContain(
        `gitlab_rails['object_store']['objects']['${type}']['bucket'] = 'gl-gitlab-123456789012-${type.replace(/_/g, '-')}'`,
      );
    }
    // Any per-type *_object_store_enabled key would turn the consolidated form off.
    expect(rb).not.toMatch(/_object_store_enabled/);
    expect(rb).toContain(
      "gitlab_rails['backup_upload_connection'] = { 'provider' => 'AWS', 'region' => 'us-west-2', 'use_iam_profile' => true }",
    );
    expect(rb).toContain("gitlab_rails['backup_upload_remote_directory'] = 'gl-gitlab-123456789012-backups'");
    expect(rb).toContain("gitlab_rails['monitoring_whitelist'] = ['127.0.0.0/8', '::1/128', '10.0.0.0/16']");
    expect(rb).toContain("gitlab_rails['initial_root_password'] = File.read('/etc/gitlab/gitlab-aws-secrets/root-password').strip");
    expect(rb).toMatch(/ci_job_live_trace_enabled/);
  });

  test('evaluated as omnibus reads it, each gitlab.rb gives the settings, secrets from their files', () => {
    const rails = evaluate(r.railsRb);
    const nginx = versionFeatures(version).nginxUnderRails ? rails.gitlab_rails.nginx : rails.nginx;
    expect(nginx).toEqual({
      listen_port: 80,
      listen_https: false,
      proxy_protocol: true,
      real_ip_trusted_addresses: ['127.0.0.0/8', '10.0.0.0/16'],
    });
    expect(rails.external_url).toBe('https://gitlab.example.com');
    expect(rails.gitlab_rails).toMatchObject({
      db_host: 'gitlab-db-ha.abc123.us-west-2.rds.amazonaws.com',
      db_port: 5432,
      db_password: 'secret:database-password',
      redis_ssl: true,
      redis_password: 'secret:redis-auth-token',
      gitaly_token: 'secret:gitaly-token',
      initial_root_password: 'secret:root-password',
      auto_migrate: true,
      repositories_storages: { default: { gitaly_address: 'tcp://10.0.1.25:8075' } },
      backup_upload_remote_directory: 'gl-gitlab-123456789012-backups',
    });
    expect(rails.gitlab_rails.object_store.connection).toEqual({ provider: 'AWS', region: 'us-west-2', use_iam_profile: true });
    expect(Object.keys(rails.gitlab_rails.object_store.objects)).toEqual(knownTypes(version));
    expect(rails.gitlab_shell.secret_token).toBe('secret:gitlab-shell-secret');
    expect(evaluate(r.cloneRb).gitlab_rails.auto_migrate).toBe(false);
    const gitaly = evaluate(r.gitalyRb);
    expect(gitaly.roles).toEqual(['gitaly_role']);
    expect(gitaly.gitaly).toEqual({
      gitlab_secret: 'secret:gitlab-shell-secret',
      configuration: {
        listen_addr: '0.0.0.0:8075',
        auth: { token: 'secret:gitaly-token' },
        storage: [{ name: 'default', path: '/var/opt/gitlab/git-data/repositories' }],
      },
    });
    // The same secret on both sides: the same file, fetched from the same parameter (next test).
    expect(gitaly.gitaly.configuration.auth.token).toBe(rails.gitlab_rails.gitaly_token);
    expect(gitaly.gitaly.gitlab_secret).toBe(rails.gitlab_shell.secret_token);
  });

  test('migrations run on the base instance only', () => {
    expect(r.railsRb).toContain("gitlab_rails['auto_migrate'] = true");
    expect(r.cloneRb).toContain("gitlab_rails['auto_migrate'] = false");
    expect(r.cloneRb).not.toContain("gitlab_rails['auto_migrate'] = true");
    expect(r.gitalyRb).toContain("gitlab_rails['auto_migrate'] = false");
  });

  test('the Gitaly gitlab.rb: only Gitaly, on 8075, storage default, the token, the shell secret, GitLab through the NLB', () => {
    const rb = r.gitalyRb;
    expect(rb).toContain("roles(['gitaly_role'])");
    expect(rb).toContain("listen_addr: '0.0.0.0:8075'");
    expect(rb).toContain("auth: { token: File.read('/etc/gitlab/gitlab-aws-secrets/gitaly-token').strip }");
    expect(rb).toContain("storage: [{ name: 'default', path: '/var/opt/gitlab/git-data/repositories' }]");
    expect(rb).toContain("gitlab_rails['internal_api_url'] = 'https://gitlab.example.com'");
    expect(rb).toContain("gitaly['gitlab_secret'] = File.read('/etc/gitlab/gitlab-aws-secrets/gitlab-shell-secret').strip");
    expect(rb).not.toMatch(/git_data_dirs/);
  });

  test('the Gitaly token and every shared secret come from the same parameter into the same file on both sides', () => {
    const rails = fetched(r.baseData);
    const gitaly = fetched(r.gitalyData);
    expect(gitaly.size).toBeGreaterThan(0);
    // Everything Gitaly reads, a Rails node reads from the same parameter.
    for (const [file, parameter] of gitaly) expect(rails.get(file)).toBe(parameter);
    expect(gitaly.get('/etc/gitlab/gitlab-aws-secrets/gitaly-token')).toBe('/gitlab-aws/gitlab/gitaly-token');
    expect(gitaly.get('/etc/gitlab/gitlab-aws-secrets/gitlab-shell-secret')).toBe('/gitlab-aws/gitlab/gitlab-shell-secret');
    expect(fetched(r.cloneData)).toEqual(rails);
    // Each file gitlab.rb reads was fetched on that node.
    for (const [rb, script] of [
      [r.railsRb, r.baseData],
      [r.gitalyRb, r.gitalyData],
    ] as const) {
      for (const m of rb.matchAll(/File\.read\('([^']+)'\)/g)) expect(fetched(script).has(m[1]!)).toBe(true);
    }
  });

  test('gitlab-secrets.json comes out the same on Rails and Gitaly, with the keys omnibus reads, merged into what is there', () => {
    let stored: Record<string, string> = {};
    const secretsJson = (script: string, existing?: object) => {
      const dir = mkdtempSync(join(scratch, 'etc-'));
      const values = new Map<string, string>();
      for (const [file] of fetched(script)) {
        const name = file.replace('/etc/gitlab/gitlab-aws-secrets/', '');
        const value = `value-of-${name}`;
        values.set(name, value);
        execFileSync('install', ['-D', '-m', '0600', '/dev/null', join(dir, 'gitlab-aws-secrets', name)]);
        writeFileSync(join(dir, 'gitlab-aws-secrets', name), `${value}\n`);
      }
      if (existing) writeFileSync(join(dir, 'gitlab-secrets.json'), JSON.stringify(existing));
      // The SSM tool's get-path, answering what an earlier reconfigure stored.
      const tool = join(dir, 'ssm');
      writeFileSync(tool, `#!/bin/sh\necho '${JSON.stringify(stored)}'\n`, { mode: 0o755 });
      const program = heredoc(script, 'SECRETS_JSON')
        .replaceAll('/etc/gitlab/', `${dir}/`)
        .replaceAll('/usr/local/sbin/gitlab-aws-ssm', tool);
      execFileSync('python3', ['-'], { input: program });
      return JSON.parse(readFileSync(join(dir, 'gitlab-secrets.json'), 'utf8'));
    };
    const rails = secretsJson(r.baseData);
    expect(secretsJson(r.gitalyData)).toEqual(rails);
    expect(rails.gitlab_shell.secret_token).toBe('value-of-gitlab-shell-secret');
    expect(rails.gitaly.gitlab_secret).toBe('value-of-gitlab-shell-secret');
    expect(rails.gitaly.configuration.auth.token).toBe('value-of-gitaly-token');
    expect(rails.gitlab_rails.gitaly_token).toBe('value-of-gitaly-token');
    expect(rails.gitlab_rails).toMatchObject({
      secret_key_base: 'value-of-rails/secret-key-base',
      db_key_base: 'value-of-rails/db-key-base',
      otp_key_base: 'value-of-rails/otp-key-base',
      encrypted_settings_key_base: 'value-of-rails/encrypted-settings-key-base',
      openid_connect_signing_key: 'value-of-rails/openid-connect-signing-key',
    });
    // A clone keeps what the package generated on the base (baked into the image).
    const cloned = secretsJson(r.cloneData, {
      gitlab_workhorse: { secret_token: 'baked' },
      gitlab_rails: { active_record_encryption_primary_key: ['baked'] },
    });
    expect(cloned.gitlab_workhorse.secret_token).toBe('baked');
    expect(cloned.gitlab_rails.active_record_encryption_primary_key).toEqual(['baked']);
    expect(cloned.gitlab_rails.secret_key_base).toBe('value-of-rails/secret-key-base');
    // A replaced base has no image to inherit from: Parameter Store holds what the first generated; ours still win.
    const path = r.base.generated.path;
    stored = { [`${path}/gitlab_workhorse/secret_token`]: '"stored"', [`${path}/gitlab_rails/secret_key_base`]: '"stale"' };
    const replaced = secretsJson(r.baseData);
    expect(replaced.gitlab_workhorse.secret_token).toBe('stored');
    expect(replaced.gitlab_rails.secret_key_base).toBe('value-of-rails/secret-key-base');
  });

  test('the Rails script: gitlab.rb whole and quoted, sshd fast lookup, extensions, Gitaly waited for, then reconfigure', () => {
    const script = r.baseData;
    expect(script.split('\n').slice(0, 3)).toEqual(['#!/bin/bash', '# gitlab-aws node: rails-base', 'set -Eeuo pipefail']);
    expect(r.cloneData.split('\n')[1]).toBe('# gitlab-aws node: rails-clone');
    expect(script).toContain('exec > >(tee -a /var/log/gitlab-aws-boot.log | logger -t gitlab-aws -s 2>/dev/console) 2>&1');
    expect(heredoc(script, 'GITLAB_RB')).toBe(r.railsRb.trimEnd());
    expect(heredoc(r.cloneData, 'GITLAB_RB')).toBe(r.cloneRb.trimEnd());
    expect(script).toContain('chmod 0600 /etc/gitlab/gitlab.rb');
    expect(heredoc(script, 'SSHD_CONFIG')).toBe(
      [
        'Match User git',
        '  AuthorizedKeysCommand /opt/gitlab/embedded/service/gitlab-shell/bin/gitlab-shell-authorized-keys-check git %u %k',
        '  AuthorizedKeysCommandUser git',
        'Match all',
      ].join('\n'),
    );
    expect(script).toContain('cat >> /etc/ssh/sshd_config');
    expect(script).toMatch(/^sshd -t$/m);
    const extensions =
      /CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS btree_gist;( CREATE EXTENSION IF NOT EXISTS amcheck;)?/.exec(
        script,
      );
    expect(extensions?.[1] !== undefined).toBe(true); // 18.4+: amcheck, for every version tested here
    expect(script).toContain('/opt/gitlab/embedded/bin/psql');
    expect(script).toContain(`PGPASSWORD="$(cat '/etc/gitlab/gitlab-aws-secrets/database-password')" PGSSLMODE=verify-full`);
    const at = (line: string) => {
      const i = script.split('\n').findIndex((l) => l.startsWith(line));
      expect(i, line).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(at("fetch_secret '/gitlab-aws/gitlab/database-password'")).toBeLessThan(at("cat > /etc/gitlab/gitlab.rb <<'GITLAB_RB'"));
    expect(at("cat > /etc/gitlab/gitlab.rb <<'GITLAB_RB'")).toBeLessThan(at("python3 - <<'SECRETS_JSON'"));
    expect(at("python3 - <<'SECRETS_JSON'")).toBeLessThan(at('PGPASSWORD='));
    expect(at('PGPASSWORD=')).toBeLessThan(at("wait_for_port '10.0.1.25' 8075"));
    expect(at("wait_for_port '10.0.1.25' 8075")).toBeLessThan(at('reconfigure'));
    expect(r.cloneData).toMatch(/^wait_for_port '10\.0\.1\.25' 8075$/m);
  });

  test('the base is made fit to be cloned, and says so last; a clone is not', () => {
    const lines = r.baseData.trimEnd().split('\n');
    const reconfigure = lines.indexOf('reconfigure');
    const flip = lines.indexOf(
      `sed -i "s/^gitlab_rails\\['auto_migrate'\\] = true$/gitlab_rails['auto_migrate'] = false/" /etc/gitlab/gitlab.rb`,
    );
    expect(reconfigure).toBeGreaterThan(0);
    expect(flip).toBeGreaterThan(reconfigure);
    expect(lines.indexOf('rm -f /var/lib/cloud/scripts/per-instance/gitlab')).toBeGreaterThan(reconfigure);
    expect(lines.at(-1)).toBe(`echo '${READY_FOR_IMAGING}'`);
    expect(r.baseData).toContain('for key in /etc/ssh/ssh_host_*_key; do');
    expect(r.baseData).toContain('echo "HostKey /etc/ssh_static/ssh_host_${type}_key"');
    expect(r.baseData).not.toMatch(/dsa/);
    expect(r.baseData).toContain("gitlab-rails runner 'ApplicationSetting.current.update!(ci_job_live_trace_enabled: true)'");
    for (const bakeOnly of [
      READY_FOR_IMAGING,
      'rm -f /var/lib/cloud/scripts/per-instance/gitlab',
      "s/^gitlab_rails\\['auto_migrate'\\]",
      '/etc/ssh_static',
    ]) {
      expect(r.cloneData).not.toContain(bakeOnly);
    }
  });

  test('the static host keys: one HostKey line for each key type the node has, copies beside them', () => {
    const lines = r.baseData.split('\n');
    const from = lines.indexOf('install -d -m 0755 /etc/ssh_static');
    const to = lines.indexOf('done', from);
    expect(from).toBeGreaterThan(0);
    const etc = mkdtempSync(join(scratch, 'etc-'));
    execFileSync('mkdir', ['-p', join(etc, 'ssh', 'sshd_config.d')]);
    // Ubuntu 24.04's types: no DSA.
    for (const type of ['rsa', 'ecdsa', 'ed25519']) {
      writeFileSync(join(etc, 'ssh', `ssh_host_${type}_key`), `private ${type}`);
      writeFileSync(join(etc, 'ssh', `ssh_host_${type}_key.pub`), `public ${type}`);
    }
    execFileSync('bash', [
      '-euo',
      'pipefail',
      '-c',
      lines
        .slice(from, to + 1)
        .join('\n')
        .replaceAll('/etc/', `${etc}/`),
    ]);
    expect(readFileSync(join(etc, 'ssh', 'sshd_config.d', 'gitlab-aws-host-keys.conf'), 'utf8')).toBe(
      ['ecdsa', 'ed25519', 'rsa'].map((type) => `HostKey ${etc}/ssh_static/ssh_host_${type}_key\n`).join(''),
    );
    expect(readFileSync(join(etc, 'ssh_static', 'ssh_host_ed25519_key'), 'utf8')).toBe('private ed25519');
  });

  test('the sed flip turns exactly the base gitlab.rb into the clone one', () => {
    const file = join(scratch, `flip-${version}.rb`);
    writeFileSync(file, r.railsRb);
    const flip = r.baseData.split('\n').find((l) => l.startsWith('sed -i '))!;
    execFileSync('bash', ['-c', flip.replace('/etc/gitlab/gitlab.rb', file)]);
    expect(readFileSync(file, 'utf8').replace('(rails-base)', '(rails-clone)')).toBe(r.cloneRb);
  });

  test("the Gitaly script installs that exact release from GitLab's apt repository after gitlab.rb is in place", () => {
    const lines = r.gitalyData.split('\n');
    expect(lines[1]).toBe('# gitlab-aws node: gitaly');
    const rb = lines.indexOf("cat > /etc/gitlab/gitlab.rb <<'GITLAB_RB'");
    const repo = lines.indexOf(`retry 10 "GitLab's apt repository" add_repository`);
    const install = lines.indexOf(`retry 10 'the gitlab-ee ${version} package' apt-get install -y 'gitlab-ee=${version}-ee.0'`);
    expect(r.gitalyData).toContain("'https://packages.gitlab.com/install/repositories/gitlab/gitlab-ee/script.deb.sh'");
    expect(rb).toBeGreaterThan(0);
    expect(repo).toBeGreaterThan(rb);
    expect(install).toBeGreaterThan(repo);
    expect(lines.indexOf('reconfigure')).toBeGreaterThan(install);
    expect(r.gitalyData).not.toMatch(/EXTERNAL_URL=/);
  });
});

describe('nginx settings per release', () => {
  const keys = ['listen_port', 'listen_https', 'proxy_protocol', 'real_ip_trusted_addresses'];
  test.each([
    ['18.11.2', 'nginx'],
    ['19.2.4', 'nginx'],
    ['19.3.0', "gitlab_rails['nginx']"],
    ['19.5.1', "gitlab_rails['nginx']"],
  ])('%s: the keys as %s[...] (what its gitlab.rb.template documents)', (version, form) => {
    const { railsRb } = renderAll(version, true);
    expect(railsRb).toContain(`${form}['listen_port'] = 80`);
    expect(railsRb).toContain(`${form}['listen_https'] = false`);
    expect(railsRb).toContain(`${form}['proxy_protocol'] = true`);
    expect(railsRb).toContain(`${form}['real_ip_trusted_addresses'] = ['127.0.0.0/8', '10.0.0.0/16']`);
    // Never both forms: the other one is ignored (old release) or deprecated (new release).
    const other = form === 'nginx' ? /gitlab_rails\['nginx'\]/ : /^nginx\[/m;
    expect(railsRb).not.toMatch(other);
    for (const key of keys) expect(railsRb.split('\n').filter((l) => l.includes(`['${key}']`))).toHaveLength(1);
  });

  test('without proxy protocol on the target group nginx does not expect it', () => {
    const { railsRb } = renderAll('19.5.1', false);
    expect(railsRb).not.toMatch(/proxy_protocol|real_ip_trusted_addresses/);
    expect(railsRb).toContain("gitlab_rails['nginx']['listen_port'] = 80");
  });
});

describe('secrets stay out of every rendered text', () => {
  test('no generated secret value appears in any gitlab.rb or user-data', () => {
    // Values as the secrets step generates them; the renderers get only parameter names.
    const values = Object.entries(SECRETS).map(([name, generate]) => [name, generate()] as const);
    const texts = VERSIONS.flatMap((v) => [...Object.values(renderAll(v, true)), ...Object.values(renderAll(v, false))]).filter(
      (t): t is string => typeof t === 'string',
    );
    expect(texts.length).toBeGreaterThan(20);
    for (const text of texts) {
      for (const [name, value] of values) {
        expect(text.includes(value), name).toBe(false);
        // Nor any long piece of it (a key's body line, say).
        for (const line of value.split('\n').filter((l) => l.length >= 16)) expect(text.includes(line), name).toBe(false);
      }
    }
    // And every secret gitlab.rb needs is named by file, so values could only come from there.
    const rb = renderAll('19.5.1').railsRb;
    for (const name of ['database-password', 'redis-auth-token', 'gitaly-token', 'root-password'] as SecretName[]) {
      expect(rb).toContain(`File.read('/etc/gitlab/gitlab-aws-secrets/${name}').strip`);
    }
  });
});

describe('the inputs: one builder from the answers and what the steps learned', () => {
  test('before any step ran, each unknown fact is a visible placeholder naming the step that learns it', () => {
    const input = railsNodeInput(config, 'base', {});
    expect(input.database.host).toBe('<database host: known after rds-postgres>');
    expect(input.redis.host).toBe('<redis primary endpoint: known after elasticache>');
    expect(input.gitalyAddress).toBe('<gitaly private IP: known after gitaly>');
    expect(input.release.version).toBe('<newest release: known after machine-images>');
    expect(input.buckets.artifacts).toBe('gl-gitlab-<account>-artifacts');
    // What the answers already fix is there: the VPC, the parameter names, the domain, the region.
    expect(input.vpcCidr).toBe('10.0.0.0/16');
    expect(input.parameters['gitaly-token']).toBe('/gitlab-aws/gitlab/gitaly-token');
    expect(input.domain).toBe('gitlab.example.com');
    // Still valid Ruby and shell with the placeholders in.
    expect(check('ruby', ['-c'], renderRailsGitlabRb(input), '.rb')).toBe('');
    expect(check('bash', ['-n'], renderRailsUserData(input), '.sh')).toBe('');
    expect(check('bash', ['-n'], renderGitalyUserData(gitalyNodeInput(config, {})), '.sh')).toBe('');
  });

  test("the steps' recorded outputs become the facts; a step's missing or odd outputs give none", () => {
    const known = factsFromOutputs({
      'machine-images': {
        gitlab: { imageId: 'ami-1', name: 'GitLab EE 19.5.1', rootDeviceName: '/dev/sda1', edition: 'ee', version: '19.5.1' },
        bastion: { imageId: 'ami-2', name: 'ubuntu', rootDeviceName: '/dev/sda1' },
        gitaly: { imageId: 'ami-2', name: 'ubuntu', rootDeviceName: '/dev/sda1' },
      },
      vpc: { vpcId: 'vpc-1', cidrBlock: '10.9.0.0/16' },
      gitaly: { instanceId: 'i-1', name: 'gitlab-gitaly', privateIp: '10.9.1.7' },
      elasticache: { replicationGroupId: 'x' },
    });
    expect(known).toEqual({ release: { edition: 'ee', version: '19.5.1' }, vpcCidr: '10.9.0.0/16', gitalyAddress: '10.9.1.7' });
    const input: RailsNodeInput = railsNodeInput(config, 'clone', known);
    expect(input.gitalyAddress).toBe('10.9.1.7');
    expect(input.redis.host).toContain('known after elasticache');
    const gitaly: GitalyNodeInput = gitalyNodeInput(config, known);
    expect(gitaly.release.version).toBe('19.5.1');
  });

  test('an answered exact version is used before machine-images runs; a major or minor shows its newest form', () => {
    const exact = buildInstallConfig({
      deployment: 'gitlab',
      region: 'us-west-2',
      sandbox: true,
      file: { gitlab: { version: '18.11.2' } },
    });
    expect(railsNodeInput(exact, 'base', {}).release.version).toBe('18.11.2');
    const minor = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', sandbox: true, file: { gitlab: { version: '19.5' } } });
    expect(railsNodeInput(minor, 'base', {}).release.version).toBe('19.5.x');
    // 18.x reads as the newest 18 (after 18.4's amcheck, before 19.3's nginx keys), 19.5.x as 19.5.
    const major = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', sandbox: true, file: { gitlab: { version: '18' } } });
    const eighteen = versionFeatures(railsNodeInput(major, 'base', {}).release.version);
    expect(eighteen).toMatchObject({ amcheck: true, nginxUnderRails: false });
    expect(versionFeatures('19.5.x')).toEqual(versionFeatures('19.5.0'));
    expect(renderRailsGitlabRb(railsNodeInput(major, 'base', {}))).toContain("nginx['listen_port'] = 80");
  });
});

describe('the secret fetcher (python3, standard library only)', () => {
  const script = join(scratch, 'gitlab-aws-ssm-get.py');
  writeFileSync(script, SSM_TOOL_PY);

  test('compiles', () => {
    execFileSync('python3', ['-m', 'py_compile', script]);
  });

  /** Signs with the script's own sign() under a fixed clock and credentials. */
  function sign(request: object): Record<string, string> {
    const program = [
      'import datetime, importlib.util, json, sys',
      `spec = importlib.util.spec_from_file_location('ssm_get', ${JSON.stringify(script)})`,
      'module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)',
      'r = json.loads(sys.stdin.read())',
      'now = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)',
      "credentials = {'key': 'AKIDEXAMPLE', 'secret': 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', 'token': r.get('token')}",
      "print(json.dumps(module.sign(r['method'], r['host'], r['path'], r['query'], r['headers'], r['body'].encode(), credentials, r['region'], r['service'], now)))",
    ].join('\n');
    return JSON.parse(execFileSync('python3', ['-c', program], { input: JSON.stringify(request), encoding: 'utf8' }));
  }

  test("signs AWS's published Signature Version 4 examples exactly", () => {
    // The IAM ListUsers example of AWS's "Signature Version 4 signing process" pages.
    const iam = sign({
      method: 'GET',
      host: 'iam.amazonaws.com',
      path: '/',
      query: 'Action=ListUsers&Version=2010-05-08',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: '',
      region: 'us-east-1',
      service: 'iam',
    });
    expect(iam.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
    expect(iam['x-amz-date']).toBe('20150830T123600Z');
    // post-vanilla of AWS's SigV4 test suite.
    const post = sign({
      method: 'POST',
      host: 'example.amazonaws.com',
      path: '/',
      query: '',
      headers: {},
      body: '',
      region: 'us-east-1',
      service: 'service',
    });
    expect(post.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    );
  });

  test("a role's session token is signed too", () => {
    const signed = sign({
      method: 'POST',
      host: 'ssm.us-west-2.amazonaws.com',
      path: '/',
      query: '',
      headers: {},
      body: '{}',
      region: 'us-west-2',
      service: 'ssm',
      token: 'SESSION',
    });
    expect(signed['x-amz-security-token']).toBe('SESSION');
    expect(signed.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
  });
});
