import type { SecretName } from '../steps/secrets.js';
import { multipart } from './cloud-init.js';
import { GITALY_PORT, RDS_CA_BUNDLE, renderGitalyGitlabRb, renderRailsGitlabRb } from './gitlab-rb.js';
import type { BastionInput, GeneratedSecrets, GitalyNodeInput, GitlabRelease, RailsNodeInput } from './inputs.js';
import { shellString as sh } from './quote.js';
import { GITLAB_SECRETS_JSON, RAILS_SECRETS, SECRET_DIR, SHARED_SECRETS, secretFile } from './secrets.js';
import { SSM_TOOL_PATH, SSM_TOOL_PY } from './ssm-tool.js';
import { versionFeatures } from './versions.js';

/** The console line the base-instance step waits for before it images the node. */
export const READY_FOR_IMAGING = 'gitlab-aws: ready for imaging';
/** The console line every script prints when a command fails, so the install stops waiting at once. */
export const BOOT_FAILED = 'gitlab-aws: boot failed';
export type NodeKind = 'bastion' | 'gitaly' | 'rails-base' | 'rails-clone';

/** The official GitLab AMI's first-boot script (omnibus support/packer/ami-startup-script.sh). */
export const AMI_FIRST_BOOT_SCRIPT = '/var/lib/cloud/scripts/per-instance/gitlab';
const BOOT_LOG = '/var/log/gitlab-aws-boot.log';
const RECONFIGURE_LOG = '/var/log/gitlab-aws-reconfigure.log';

/**
 * Every script's first lines (docs/compute-contract.md 1-2): the kind, strict mode with the ERR
 * trap inherited by functions and substitutions (`-E`), a root-only log beside the console, and a
 * `step` that names what the script is doing, so a failure says where it stopped.
 */
function header(kind: NodeKind): string[] {
  return [
    '#!/bin/bash',
    `# gitlab-aws node: ${kind}`,
    'set -Eeuo pipefail',
    `touch ${BOOT_LOG} && chmod 0600 ${BOOT_LOG}`,
    `exec > >(tee -a ${BOOT_LOG} | logger -t gitlab-aws -s 2>/dev/console) 2>&1`,
    'BOOT_STEP=start',
    `trap 'echo "${BOOT_FAILED} at \${BOOT_STEP} (line \${LINENO})"' ERR`,
    'step() { BOOT_STEP="$1"; echo "gitlab-aws: $1"; }',
    `echo 'gitlab-aws: ${kind} boot starts'`,
    '',
    '# Runs a command until it succeeds, at most $1 times 10 s apart, saying what it waits for.',
    'retry() {',
    '  local attempts="$1" what="$2" attempt',
    '  shift 2',
    '  for attempt in $(seq 1 "$attempts"); do',
    '    if "$@"; then return 0; fi',
    '    echo "gitlab-aws: waiting for ${what} (attempt ${attempt} of ${attempts})"',
    '    sleep 10',
    '  done',
    '  echo "gitlab-aws: gave up waiting for ${what} after ${attempts} attempts"',
    '  return 1',
    '}',
  ];
}

/** The SSM tool, fetch_secret, and one fetch_secret line per secret (contract 3); values only ever in files. */
function secretFetching(region: string, parameters: Record<SecretName, string>, names: readonly SecretName[]): string[] {
  return [
    `cat > ${SSM_TOOL_PATH} <<'SSM_TOOL'`,
    SSM_TOOL_PY.trimEnd(),
    'SSM_TOOL',
    `chmod 0700 ${SSM_TOOL_PATH}`,
    `export AWS_REGION=${sh(region)}`,
    '',
    '',
    'step "reading the secrets from Parameter Store"',
    '# Each secret: its parameter and the root-only file it lands in, all read in one go (GetParameters).',
    'SECRETS=()',
    'fetch_secret() { SECRETS+=("$1 $2"); }',
    ...names.map((name) => `fetch_secret ${sh(parameters[name])} ${sh(secretFile(name))}`),
    `install -d -m 0700 ${SECRET_DIR}`,
    `fetch_secrets() { printf '%s\\n' "\${SECRETS[@]}" | ${SSM_TOOL_PATH} get-many; }`,
    '# The role or a parameter may lag the boot a little: retry.',
    'retry 30 "the secrets in Parameter Store" fetch_secrets',
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

/** The depth-two keys of gitlab-secrets.json we write from our own parameters (the rest the package generates). */
const OWN_KEYS = [...new Set(GITLAB_SECRETS_JSON.map((entry) => entry.path.slice(0, 2).join('.')))];

/**
 * gitlab-secrets.json (contract 5), the same keys on every node, merged into what is there: first
 * the keys an earlier reconfigure generated and stored (a clone's image holds them too; a
 * replaced base has only Parameter Store), then ours from the fetched files, which win.
 */
function gitlabSecretsJson(generated: GeneratedSecrets): string[] {
  const entries = JSON.stringify(GITLAB_SECRETS_JSON.map((entry) => [entry.path, entry.secret]));
  return [
    'step "writing gitlab-secrets.json"',
    "python3 - <<'SECRETS_JSON'",
    'import json, os, subprocess',
    "path = '/etc/gitlab/gitlab-secrets.json'",
    'secrets = json.load(open(path)) if os.path.exists(path) else {}',
    `stored = json.loads(subprocess.run(['${SSM_TOOL_PATH}', 'get-path', '${generated.path}'], stdout=subprocess.PIPE, check=True).stdout)`,
    'for name, value in stored.items():',
    `    section, key = name[len('${generated.path}/'):].split('/', 1)`,
    '    secrets.setdefault(section, {})[key] = json.loads(value)',
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

/**
 * After the base's first reconfigure: every key it generated (Active Record encryption, Workhorse,
 * KAS, ...) into Parameter Store, so a replaced base or a new image reads what the database holds.
 * A key stored already is kept: the database was written with the first.
 */
function storeGeneratedSecrets(generated: GeneratedSecrets): string[] {
  return [
    'step "storing the secrets the reconfigure generated"',
    `python3 - <<'STORE_SECRETS' | GITLAB_AWS_TAGS=${sh(JSON.stringify(generated.tags))} ${SSM_TOOL_PATH} put-many`,
    'import json',
    "secrets = json.load(open('/etc/gitlab/gitlab-secrets.json'))",
    `own = set(json.loads('${JSON.stringify(OWN_KEYS)}'))`,
    'print(json.dumps({',
    `    '${generated.path}/' + section + '/' + key: json.dumps(value)`,
    '    for section, values in secrets.items() if isinstance(values, dict)',
    "    for key, value in values.items() if section + '.' + key not in own",
    '}))',
    'STORE_SECRETS',
  ];
}

/** The reconfigure, its Chef output (which can show file contents) kept in a root-only log, never on the console. */
const RECONFIGURE = [
  'reconfigure() {',
  `  install -m 0600 /dev/null ${RECONFIGURE_LOG}`,
  `  if ! gitlab-ctl reconfigure >> ${RECONFIGURE_LOG} 2>&1; then`,
  `    echo "gitlab-aws: gitlab-ctl reconfigure failed; its output is in ${RECONFIGURE_LOG} (root only)"`,
  '    return 1',
  '  fi',
  '}',
];

/** Gitaly must answer before a Rails node reconfigures; bounded, as every wait is (15 minutes). */
const WAIT_FOR_PORT = [
  'port_open() { timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }',
  'wait_for_port() { retry 90 "Gitaly at $1:$2" port_open "$1" "$2"; }',
];

/** Git over SSH through the load balancer: fast key lookup, and on the base the static host keys the clones inherit. */
function sshd(role: RailsNodeInput['role']): string[] {
  return [
    'step "configuring sshd for Git over SSH"',
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
    // Ubuntu 24.04 starts sshd from ssh.socket on the first connection, so on a node nobody has
    // connected to /run/sshd does not exist yet and `sshd -t` refuses to check anything without it.
    'install -d -m 0755 /run/sshd',
    'sshd -t',
    // For the same reason a plain reload fails while sshd is not running.
    'systemctl try-reload-or-restart ssh',
  ];
}

/**
 * Amazon RDS's certificate bundle for the region, so the database's certificate is verified
 * (verify-full), not only used: fetched over HTTPS once (a clone's image carries the base's) and
 * refused unless it holds Amazon RDS CA certificates.
 */
function rdsCaBundle(region: string): string[] {
  const url = `https://truststore.pki.rds.amazonaws.com/${region}/${region}-bundle.pem`;
  return [
    'step "fetching the Amazon RDS certificate bundle"',
    'fetch_rds_ca() {',
    `  curl -fsSL -o ${RDS_CA_BUNDLE}.tmp ${sh(url)} &&`,
    `    python3 -c 'import ssl, sys; names = [dict(n[0] for n in c["subject"]).get("commonName", "") for c in ssl.create_default_context(cafile=sys.argv[1]).get_ca_certs()]; sys.exit(not any(n.startswith("Amazon RDS") for n in names))' ${RDS_CA_BUNDLE}.tmp &&`,
    `    chmod 0644 ${RDS_CA_BUNDLE}.tmp && mv ${RDS_CA_BUNDLE}.tmp ${RDS_CA_BUNDLE}`,
    '}',
    `[ -s ${RDS_CA_BUNDLE} ] || retry 10 "Amazon RDS's certificate bundle" fetch_rds_ca`,
  ];
}

/** The extensions GitLab needs, made with the master user before the first reconfigure (gitlab-omnibus.md). */
function extensions(input: RailsNodeInput): string[] {
  const names = ['pg_trgm', 'btree_gist', ...(versionFeatures(input.release.version).amcheck ? ['amcheck'] : [])];
  const sql = names.map((name) => `CREATE EXTENSION IF NOT EXISTS ${name};`).join(' ');
  const db = input.database;
  return [
    'step "creating the database extensions"',
    '# The password reaches psql through its environment only, never the command line or this log.',
    `PGPASSWORD="$(cat ${sh(secretFile('database-password'))})" PGSSLMODE=verify-full PGSSLROOTCERT=${RDS_CA_BUNDLE} \\`,
    `  /opt/gitlab/embedded/bin/psql -v ON_ERROR_STOP=1 -h ${sh(db.host)} -p ${db.port} -U ${sh(db.username)} -d ${sh(db.name)} -c ${sh(sql)}`,
  ];
}

/** Incremental CI job logging, a database setting: once, from the node that runs the migrations. */
function incrementalLogging(release: GitlabRelease): string {
  const command = versionFeatures(release.version).liveTraceSetting
    ? `gitlab-rails runner 'ApplicationSetting.current.update!(ci_job_live_trace_enabled: true)'`
    : `gitlab-rails runner 'Feature.enable(:ci_enable_live_trace)'`;
  return `${command} >> ${RECONFIGURE_LOG} 2>&1`;
}

/**
 * The base instance's and every clone's user-data (contract 6, 8, 9): a cloud-config whose
 * bootcmd removes the AMI's first-boot script before cloud-init would run it, and the script.
 */
export function renderRailsUserData(input: RailsNodeInput): string {
  return multipart([['rm', '-f', AMI_FIRST_BOOT_SCRIPT]], renderRailsScript(input));
}

/** The shell part of a Rails node's user-data. */
export function renderRailsScript(input: RailsNodeInput): string {
  const kind: NodeKind = `rails-${input.role}`;
  const lines = [
    ...header(kind),
    '',
    ...secretFetching(input.region, input.parameters, RAILS_SECRETS),
    '',
    ...rdsCaBundle(input.region),
    '',
    'step "writing gitlab.rb"',
    ...gitlabRb(renderRailsGitlabRb(input)),
    ...gitlabSecretsJson(input.generated),
    '',
    ...sshd(input.role),
    '',
    ...extensions(input),
    '',
    ...WAIT_FOR_PORT,
    'step "waiting for Gitaly"',
    `wait_for_port ${sh(input.gitalyAddress)} ${GITALY_PORT}`,
    '',
    ...RECONFIGURE,
    'step "gitlab-ctl reconfigure"',
    'reconfigure',
    ...(input.role === 'base'
      ? [
          'step "turning on incremental CI job logging"',
          incrementalLogging(input.release),
          '',
          ...storeGeneratedSecrets(input.generated),
          '',
          'step "making the node fit to be cloned"',
          '# The AMI first-boot script would reconfigure every clone again, and clones never migrate.',
          `rm -f ${AMI_FIRST_BOOT_SCRIPT}`,
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
  const repository = `https://packages.gitlab.com/install/repositories/gitlab/gitlab-${edition}/script.deb.sh`;
  const lines = [
    ...header('gitaly'),
    '',
    ...secretFetching(input.region, input.parameters, SHARED_SECRETS),
    '',
    'step "writing gitlab.rb"',
    ...gitlabRb(renderGitalyGitlabRb(input)),
    ...gitlabSecretsJson(input.generated),
    '',
    'step "installing the GitLab package"',
    '# With gitlab.rb present and no EXTERNAL_URL the package neither reconfigures on its own nor tries Let us Encrypt.',
    'export DEBIAN_FRONTEND=noninteractive',
    '# A first boot often finds unattended-upgrades holding the dpkg lock: every apt-get waits for it.',
    `echo 'DPkg::Lock::Timeout "600";' > /etc/apt/apt.conf.d/90gitlab-aws-lock-timeout`,
    `add_repository() { curl -fsSL -o /tmp/gitlab-repository.sh ${sh(repository)} && bash /tmp/gitlab-repository.sh; }`,
    `retry 10 "GitLab's apt repository" add_repository`,
    `retry 10 ${sh(`the gitlab-${edition} ${version} package`)} apt-get install -y ${sh(`gitlab-${edition}=${version}-${edition}.0`)}`,
    '',
    ...RECONFIGURE,
    'step "gitlab-ctl reconfigure"',
    'reconfigure',
    `echo 'gitlab-aws: gitaly configured'`,
  ];
  return lines.join('\n') + '\n';
}

/** A bastion: nothing beyond Ubuntu's defaults; the lines say which one booted. */
export function renderBastionUserData(input: BastionInput): string {
  return [...header('bastion'), `echo ${sh(`gitlab-aws: bastion ${input.name} ready`)}`].join('\n') + '\n';
}
