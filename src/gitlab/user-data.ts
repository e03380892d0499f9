import type { SecretName } from '../steps/secrets.js';
import { GITALY_PORT, renderGitalyGitlabRb, renderRailsGitlabRb } from './gitlab-rb.js';
import type { BastionInput, GitalyNodeInput, GitlabRelease, RailsNodeInput } from './inputs.js';
import { shellWord } from '../commands/options.js';
import { shellString as sh } from './quote.js';
import { GITLAB_SECRETS_JSON, RAILS_SECRETS, SECRET_DIR, SHARED_SECRETS, secretFile } from './secrets.js';
import { SSM_GET_PATH, SSM_GET_PY } from './ssm-get.js';
import { versionFeatures } from './versions.js';

/** The console line the base-instance step waits for before it images the node. */
export const READY_FOR_IMAGING = 'gitlab-aws: ready for imaging';
/** The console line every script prints when a command fails, so the install stops waiting at once. */
export const BOOT_FAILED = 'gitlab-aws: boot failed';
export type NodeKind = 'bastion' | 'gitaly' | 'rails-base' | 'rails-clone';

/** Every script's first lines (docs/compute-contract.md 1-2): the kind, strict mode, the console and a log. */
function header(kind: NodeKind): string[] {
  return [
    '#!/bin/bash',
    `# gitlab-aws node: ${kind}`,
    'set -euo pipefail',
    'exec > >(tee -a /var/log/gitlab-aws-boot.log | logger -t gitlab-aws -s 2>/dev/console) 2>&1',
    `trap 'echo "${BOOT_FAILED} (line $LINENO)"' ERR`,
    `echo 'gitlab-aws: ${kind} boot starts'`,
  ];
}

/** The fetcher, fetch_secret, and one fetch_secret line per secret (contract 3); values only ever in files. */
function secretFetching(region: string, parameters: Record<SecretName, string>, names: readonly SecretName[]): string[] {
  return [
    `cat > ${SSM_GET_PATH} <<'SSM_GET'`,
    SSM_GET_PY.trimEnd(),
    'SSM_GET',
    `chmod 0755 ${SSM_GET_PATH}`,
    '',
    '# Reads one parameter into a root-only file. The role or the parameter may lag the boot a little: retry.',
    'fetch_secret() {',
    '  local parameter="$1" file="$2" attempt',
    '  install -d -m 0700 "$(dirname "$file")"',
    '  for attempt in $(seq 1 30); do',
    `    if (umask 077 && AWS_REGION=${sh(region)} ${SSM_GET_PATH} "$parameter" > "$file.tmp"); then`,
    '      mv "$file.tmp" "$file"',
    '      return 0',
    '    fi',
    '    echo "gitlab-aws: cannot read ${parameter} yet (attempt ${attempt} of 30)"',
    '    sleep 10',
    '  done',
    '  rm -f "$file.tmp"',
    '  echo "gitlab-aws: giving up on ${parameter}"',
    '  return 1',
    '}',
    '',
    `install -d -m 0700 ${SECRET_DIR}`,
    ...names.map((name) => `fetch_secret ${sh(parameters[name])} ${sh(secretFile(name))}`),
  ];
}

/** gitlab.rb written whole before any reconfigure (contract 4); the quoted delimiter keeps the shell out of it. */
function gitlabRb(text: string): string[] {
  return [
    'install -d -m 0775 /etc/gitlab',
    "cat > /etc/gitlab/gitlab.rb <<'GITLAB_RB'",
    text.trimEnd(),
    'GITLAB_RB',
    'chmod 0600 /etc/gitlab/gitlab.rb',
  ];
}

/**
 * gitlab-secrets.json from the fetched files (contract 5), the same keys on every node. Merged into
 * what is there: on a clone the baked image's file holds the keys the package generated on the base.
 */
function gitlabSecretsJson(): string[] {
  const entries = JSON.stringify(GITLAB_SECRETS_JSON.map((entry) => [entry.path, entry.secret]));
  return [
    "python3 - <<'SECRETS_JSON'",
    'import json, os',
    "path = '/etc/gitlab/gitlab-secrets.json'",
    'secrets = json.load(open(path)) if os.path.exists(path) else {}',
    `for keys, name in json.loads('${entries}'):`,
    '    section = secrets',
    '    for key in keys[:-1]:',
    '        section = section.setdefault(key, {})',
    `    with open('${SECRET_DIR}/' + name) as value:`,
    '        section[keys[-1]] = value.read().strip()',
    "fd = os.open(path + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)",
    "with os.fdopen(fd, 'w') as out:",
    '    json.dump(secrets, out, indent=2)',
    'os.replace(path + ".tmp", path)',
    'SECRETS_JSON',
  ];
}

const WAIT_FOR_PORT = [
  'wait_for_port() {',
  '  local host="$1" port="$2"',
  '  until (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null; do',
  '    echo "gitlab-aws: waiting for ${host}:${port}"',
  '    sleep 10',
  '  done',
  '}',
];

/** Git over SSH through the load balancer: fast key lookup, and on the base the static host keys the clones inherit. */
function sshd(role: RailsNodeInput['role']): string[] {
  return [
    '# Fast lookup of authorized SSH keys (OpenSSH 6.9+), at the end of sshd_config: a Match block ends the global part.',
    "if ! grep -q '^Match User git$' /etc/ssh/sshd_config; then",
    "  cat >> /etc/ssh/sshd_config <<'SSHD_CONFIG'",
    'Match User git',
    '  AuthorizedKeysCommand /opt/gitlab/embedded/service/gitlab-shell/bin/gitlab-shell-authorized-keys-check git %u %k',
    '  AuthorizedKeysCommandUser git',
    'Match all',
    'SSHD_CONFIG',
    'fi',
    ...(role === 'base'
      ? [
          '# One host identity for every node behind the load balancer: the keys this node has, whichever types (24.04 has no DSA).',
          '# HostKey lines are global, so they go in sshd_config.d, which Ubuntu includes at the top of sshd_config.',
          'install -d -m 0755 /etc/ssh_static',
          ': > /etc/ssh/sshd_config.d/gitlab-aws-host-keys.conf',
          'for key in /etc/ssh/ssh_host_*_key; do',
          '  [ -e "$key" ] || continue',
          '  type="${key#/etc/ssh/ssh_host_}"',
          '  type="${type%_key}"',
          '  cp -p "$key" "$key.pub" /etc/ssh_static/',
          '  echo "HostKey /etc/ssh_static/ssh_host_${type}_key" >> /etc/ssh/sshd_config.d/gitlab-aws-host-keys.conf',
          'done',
        ]
      : []),
    'sshd -t',
    // Ubuntu 24.04 starts sshd from ssh.socket on the first connection: a plain reload fails while it is not running.
    'systemctl try-reload-or-restart ssh',
  ];
}

/** The extensions GitLab needs, made with the master user before the first reconfigure (gitlab-omnibus.md). */
function extensions(input: RailsNodeInput): string[] {
  const names = ['pg_trgm', 'btree_gist', ...(versionFeatures(input.release.version).amcheck ? ['amcheck'] : [])];
  const sql = names.map((name) => `CREATE EXTENSION IF NOT EXISTS ${name};`).join(' ');
  const db = input.database;
  return [
    '# The password reaches psql through its environment only, never the command line or this log.',
    `PGPASSWORD="$(cat ${sh(secretFile('database-password'))})" /opt/gitlab/embedded/bin/psql -v ON_ERROR_STOP=1 \\`,
    `  -h ${sh(db.host)} -p ${db.port} -U ${sh(db.username)} -d ${sh(db.name)} -c ${sh(sql)}`,
  ];
}

/** Incremental CI job logging, a database setting: once, from the node that runs the migrations. */
function incrementalLogging(release: GitlabRelease): string {
  return versionFeatures(release.version).liveTraceSetting
    ? `gitlab-rails runner 'ApplicationSetting.current.update!(ci_job_live_trace_enabled: true)'`
    : `gitlab-rails runner 'Feature.enable(:ci_enable_live_trace)'`;
}

/** The base instance's and every clone's user-data (contract 6, 8, 9). */
export function renderRailsUserData(input: RailsNodeInput): string {
  const kind: NodeKind = `rails-${input.role}`;
  const lines = [
    ...header(kind),
    '',
    ...secretFetching(input.region, input.parameters, RAILS_SECRETS),
    '',
    ...gitlabRb(renderRailsGitlabRb(input)),
    ...gitlabSecretsJson(),
    '',
    ...sshd(input.role),
    '',
    ...extensions(input),
    '',
    ...WAIT_FOR_PORT,
    `wait_for_port ${sh(input.gitalyAddress)} ${GITALY_PORT}`,
    '',
    'gitlab-ctl reconfigure',
    ...(input.role === 'base'
      ? [
          incrementalLogging(input.release),
          '',
          '# Fit to be cloned: the AMI first-boot script would reconfigure every clone again, and clones never migrate.',
          'rm -f /var/lib/cloud/scripts/per-instance/gitlab',
          `sed -i "s/^gitlab_rails\\['auto_migrate'\\] = true$/gitlab_rails['auto_migrate'] = false/" /etc/gitlab/gitlab.rb`,
          `echo '${READY_FOR_IMAGING}'`,
        ]
      : [`echo 'gitlab-aws: rails-clone configured'`]),
  ];
  return lines.join('\n') + '\n';
}

/** The Gitaly node: the package from GitLab's apt repository, installed with gitlab.rb already in place (contract 7). */
export function renderGitalyUserData(input: GitalyNodeInput): string {
  const { edition, version } = input.release;
  const lines = [
    ...header('gitaly'),
    '',
    ...secretFetching(input.region, input.parameters, SHARED_SECRETS),
    '',
    ...gitlabRb(renderGitalyGitlabRb(input)),
    ...gitlabSecretsJson(),
    '',
    '# With gitlab.rb present and no EXTERNAL_URL the package neither reconfigures on its own nor tries Let us Encrypt.',
    'export DEBIAN_FRONTEND=noninteractive',
    `curl -fsSL ${sh(`https://packages.gitlab.com/install/repositories/gitlab/gitlab-${edition}/script.deb.sh`)} | bash`,
    `apt-get install -y ${shellWord(`gitlab-${edition}=${version}-${edition}.0`)}`,
    'gitlab-ctl reconfigure',
    `echo 'gitlab-aws: gitaly configured'`,
  ];
  return lines.join('\n') + '\n';
}

/** A bastion: nothing beyond Ubuntu's defaults; the lines say which one booted. */
export function renderBastionUserData(input: BastionInput): string {
  return [...header('bastion'), `echo ${sh(`gitlab-aws: bastion ${input.name} ready`)}`].join('\n') + '\n';
}
