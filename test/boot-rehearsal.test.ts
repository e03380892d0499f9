/**
 * Every script the install hands to EC2, executed in the boot rehearsal (test/boot/): the real
 * bash as root, the real sshd -t/-T and python3, GitLab's commands stubbed and recorded, IMDSv2
 * and Parameter Store played by an endpoint that checks every signature. What a real first boot
 * needs, in order, for each kind of node and each GitLab minor the region's official images offer.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { encodeUserData, USER_DATA_LIMIT } from '../src/gitlab/cloud-init.js';
import { gitalyNodeInput, railsNodeInput } from '../src/gitlab/node-inputs.js';
import { RAILS_SECRETS, SECRET_DIR, SHARED_SECRETS, secretFile } from '../src/gitlab/secrets.js';
import {
  AMI_FIRST_BOOT_SCRIPT,
  BOOT_FAILED,
  READY_FOR_IMAGING,
  renderBastionUserData,
  renderGitalyUserData,
  renderRailsUserData,
} from '../src/gitlab/user-data.js';
import { publicImages } from '../src/sandbox/images.js';
import { parameterNames, SECRETS, type SecretName } from '../src/steps/secrets.js';
import {
  Rehearsal,
  rehearse,
  type BakedImage,
  type BootResult,
  type RehearsalOptions,
  type SsmParameter,
  type StubCall,
} from './boot/rehearsal.js';
import { GITALY_IP, NODE_CONFIG, nodeFacts } from './node-facts.js';

const REGION = 'us-west-2';
const config = NODE_CONFIG;

/** The newest patch of each GitLab minor the region's official EE images offer (the sandbox's list). */
const MINORS = (() => {
  const newest = new Map<string, string>();
  const parts = (v: string) => v.split('.').map(Number) as [number, number, number];
  for (const image of publicImages(REGION)) {
    if (image.gitlab?.edition !== 'ee' || image.architecture !== 'x86_64') continue;
    const [major, minor, patch] = parts(image.gitlab.version);
    const held = newest.get(`${major}.${minor}`);
    if (!held || parts(held)[2] < patch) newest.set(`${major}.${minor}`, image.gitlab.version);
  }
  return [...newest.values()];
})();
const NEWEST = MINORS.at(-1)!;

const facts = nodeFacts;

/** The user-data exactly as EC2 receives it: base64-decoded, so still gzip-compressed. */
const asReceived = (text: string) => Buffer.from(encodeUserData(text), 'base64');

const rails = (role: 'base' | 'clone', version = NEWEST, proxy = false) =>
  renderRailsUserData(railsNodeInput(config, role, facts(version, proxy)));
const gitaly = (version = NEWEST) => renderGitalyUserData(gitalyNodeInput(config, facts(version, false)));

/** What the secrets step stores: real values, made by the step's own generators (RSA keys included). */
const SECRET_VALUES = Object.fromEntries((Object.keys(SECRETS) as SecretName[]).map((name) => [name, SECRETS[name]()])) as Record<
  SecretName,
  string
>;
const PARAMETERS: SsmParameter[] = (Object.entries(parameterNames('gitlab')) as Array<[SecretName, string]>).map(([secret, Name]) => ({
  Name,
  Value: SECRET_VALUES[secret],
  Type: 'SecureString',
}));

/** A node of the install, its Gitaly reachable, on the image it is launched from. */
function node(userData: string, image: RehearsalOptions['image'], extra: Partial<RehearsalOptions> = {}): RehearsalOptions {
  return {
    image,
    userData: asReceived(userData),
    region: REGION,
    release: { edition: 'ee', version: NEWEST },
    parameters: PARAMETERS,
    addresses: [{ ip: GITALY_IP, listen: [8075] }],
    collect: ['/etc/gitlab/**', '/etc/ssh/**', '/etc/ssh_static/**', '/var/log/gitlab-aws-*.log'],
    ...extra,
  };
}

const name = (call: StubCall) => [call.argv[0]!.split('/').pop()!, ...call.argv.slice(1)].join(' ');
/** The calls that change the node, in order (sleep is a wait, not a change). */
const changes = (result: BootResult) => result.calls.filter((c) => !c.argv[0]!.endsWith('sleep')).map(name);
/** Our progress lines on the console, without logger's prefix. */
const said = (result: BootResult) =>
  result.console
    .split('\n')
    .map((line) => line.replace(/^<\d+>\w{3} [ \d]\d [\d:]{8} gitlab-aws: /, '').replace(/\r$/, ''))
    .filter((line) => line.startsWith('gitlab-aws: '))
    .map((line) => line.slice('gitlab-aws: '.length));

/** Every value a node must never show: ours, and those the reconfigure generated on it. */
function secretsOf(result: BootResult): string[] {
  const values: string[] = Object.values(SECRET_VALUES);
  const generated = result.files['/etc/gitlab/gitlab-secrets.json']?.content;
  const walk = (v: unknown): void => {
    if (typeof v === 'string') values.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  if (generated) walk(JSON.parse(generated));
  // Multi-line values (RSA keys): every line long enough to be telling.
  return values.flatMap((v) => v.split('\n')).filter((line) => line.length >= 16 && !line.startsWith('-----'));
}

function expectNoSecretShown(result: BootResult): void {
  const secrets = secretsOf(result);
  expect(secrets.length).toBeGreaterThan(Object.keys(SECRETS).length);
  for (const secret of secrets) expect(result.console.includes(secret), 'a secret value reached the console').toBe(false);
  for (const file of result.worldReadable) {
    const content = result.files[file]?.content ?? '';
    for (const secret of secrets) expect(content.includes(secret), `a secret value in world-readable ${file}`).toBe(false);
  }
}

/** The modes of the secret files and gitlab.rb as a stub call saw them. */
function modesAt(call: StubCall, secrets: readonly SecretName[]): Record<string, string | undefined> {
  const files = ['/etc/gitlab/gitlab.rb', '/etc/gitlab/gitlab-secrets.json', SECRET_DIR, ...secrets.map(secretFile)];
  return Object.fromEntries(files.map((file) => [file, call.files[file]?.mode]));
}
const privateModes = (secrets: readonly SecretName[]) =>
  Object.fromEntries(
    ['/etc/gitlab/gitlab.rb', '/etc/gitlab/gitlab-secrets.json', SECRET_DIR, ...secrets.map(secretFile)].map((file) => [
      file,
      file === SECRET_DIR ? '0700' : '0600',
    ]),
  );

/** What a second boot or run must leave as it was. */
function configuration(result: BootResult): Record<string, string | undefined> {
  const keep = Object.keys(result.files).filter((f) => f.startsWith('/etc/') && result.files[f]!.type === 'file');
  return Object.fromEntries(keep.map((f) => [f, result.files[f]!.content]));
}

/** A reboot runs nothing of ours again, and the script run a second time changes nothing. */
async function expectRebootAndRerunChangeNothing(machine: Rehearsal, first: BootResult): Promise<void> {
  const reboot = await machine.reboot();
  expect(reboot.calls).toEqual([]);
  expect(configuration(reboot)).toEqual(configuration(first));
  const again = await machine.runAgain();
  expect(again.exitCode, again.console).toBe(0);
  expect(configuration(again)).toEqual(configuration(first));
}

test('the rehearsal covers every GitLab minor the official images offer', () => {
  expect(MINORS.length).toBeGreaterThanOrEqual(5);
  expect(MINORS.map((v) => v.split('.').slice(0, 2).join('.'))).toEqual([
    ...new Set(MINORS.map((v) => v.split('.').slice(0, 2).join('.'))),
  ]);
});

/**
 * Each minor with proxy protocol on and off (gitlab.rb's nginx keys differ by both); the reboot
 * and the second run on one of the two, and a clone of the baked base on the other, to keep the
 * file's time in bounds.
 */
describe.concurrent.each(MINORS.flatMap((version) => [false, true].map((proxy) => [version, proxy] as const)))(
  'GitLab %s, proxy protocol %s',
  (version, proxy) => {
    test(`the base boots to "ready for imaging" (secrets first, sshd checked, one migrating reconfigure, keys stored), a clone of its image without migrating; ${proxy ? "the clone's" : "the base's"} reboot and second run change nothing`, async () => {
      const text = rails('base', version, proxy);
      expect(asReceived(text).length).toBeLessThan(USER_DATA_LIMIT / 2);
      const machine = await Rehearsal.open(node(text, 'gitlab-ami', { release: { edition: 'ee', version } }));
      try {
        const boot = await machine.boot();
        expect(boot.exitCode, boot.console).toBe(0);
        // cloud-init: the bootcmd removed the AMI's first-boot script before scripts_per_instance could run it.
        expect(boot.steps.map((s) => s.stage)).toEqual(['bootcmd', 'user-data']);
        expect(changes(boot)).toEqual([
          `curl -fsSL -o /etc/gitlab/rds-ca-bundle.pem.tmp https://truststore.pki.rds.amazonaws.com/${REGION}/${REGION}-bundle.pem`,
          'systemctl try-reload-or-restart ssh',
          expect.stringMatching(
            /^psql -v ON_ERROR_STOP=1 -h gitlab-db-ha\.\S+ -p 5432 -U gitlab -d gitlabhq_production -c CREATE EXTENSION/,
          ),
          'gitlab-ctl reconfigure',
          expect.stringMatching(/^gitlab-rails runner /),
        ]);
        const reconfigure = boot.calls.find((c) => name(c) === 'gitlab-ctl reconfigure')!;
        expect(modesAt(reconfigure, RAILS_SECRETS)).toEqual(privateModes(RAILS_SECRETS));
        expect(reconfigure.gitlabRb).toContain("gitlab_rails['auto_migrate'] = true");
        expect(reconfigure.files['/run/sshd']?.type).toBe('dir');
        // The password reaches psql only through its environment, and the server is verified.
        const psql = boot.calls.find((c) => c.argv[0]!.endsWith('psql'))!;
        expect(psql.env.PGPASSWORD).toBe(SECRET_VALUES['database-password']);
        expect(psql.env).toMatchObject({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/etc/gitlab/rds-ca-bundle.pem' });
        expect(psql.argv.join(' ')).not.toContain(SECRET_VALUES['database-password']);
        expect(boot.sshd.test.exitCode, boot.sshd.test.stderr).toBe(0);
        expect(boot.sshd.config.hostKeys.sort()).toEqual(
          ['ecdsa', 'ed25519', 'rsa'].map((type) => `hostkey /etc/ssh_static/ssh_host_${type}_key`),
        );
        expect(said(boot).at(-1)).toBe(READY_FOR_IMAGING.replace('gitlab-aws: ', ''));
        expect(boot.files['/etc/gitlab/gitlab.rb']!.content).toContain("gitlab_rails['auto_migrate'] = false");
        expect(boot.files[AMI_FIRST_BOOT_SCRIPT]).toBeUndefined();
        // Every key the reconfigure generated is in Parameter Store now, tagged as the secrets step's.
        const generated = boot.aws.parameters.filter((p) => p.Name.startsWith('/gitlab-aws/gitlab/generated/'));
        const file = JSON.parse(boot.files['/etc/gitlab/gitlab-secrets.json']!.content!);
        expect(generated.length).toBeGreaterThan(5);
        for (const p of generated) {
          const [section, key] = p.Name.replace('/gitlab-aws/gitlab/generated/', '').split('/');
          expect(JSON.parse(p.Value)).toEqual(file[section!][key!]);
          expect(p.Tags).toEqual(expect.arrayContaining([{ Key: 'gitlab-aws:deployment', Value: 'gitlab' }]));
        }
        expect(boot.aws.requests.filter((r) => r.service === 'ssm').every((r) => r.outcome === 'ok')).toBe(true);
        expectNoSecretShown(boot);

        if (!proxy) {
          // A reboot runs nothing of ours again; the script run twice changes nothing.
          const reboot = await machine.reboot();
          expect(reboot.steps.map((s) => s.stage)).toEqual(['bootcmd']);
          expect(reboot.calls).toEqual([]);
          expect(configuration(reboot)).toEqual(configuration(boot));
          const again = await machine.runAgain();
          expect(again.exitCode, again.console).toBe(0);
          expect(configuration(again)).toEqual(configuration(boot));
          expect(again.aws.parameters).toEqual(boot.aws.parameters);
        }
        // The group's nodes: the baked image, the clone's own user-data, no migrations, the same secrets.
        const image = await machine.bake();
        const cloneMachine = await Rehearsal.open(
          node(rails('clone', version, proxy), image, { release: { edition: 'ee', version }, parameters: machine.store }),
        );
        try {
          const clone = await cloneMachine.boot();
          expect(clone.exitCode, clone.console).toBe(0);
          expect(changes(clone)).toEqual([
            'systemctl try-reload-or-restart ssh',
            expect.stringMatching(/^psql /),
            'gitlab-ctl reconfigure',
          ]);
          const cloned = clone.calls.find((c) => name(c) === 'gitlab-ctl reconfigure')!;
          expect(cloned.gitlabRb).toContain("gitlab_rails['auto_migrate'] = false");
          expect(modesAt(cloned, RAILS_SECRETS)).toEqual(privateModes(RAILS_SECRETS));
          expect(said(clone).at(-1)).toBe('rails-clone configured');
          expect(clone.files['/etc/gitlab/gitlab-secrets.json']!.content).toBe(boot.files['/etc/gitlab/gitlab-secrets.json']!.content);
          expect(clone.sshd.test.exitCode, clone.sshd.test.stderr).toBe(0);
          expect(clone.sshd.config.hostKeys).toEqual(boot.sshd.config.hostKeys);
          expectNoSecretShown(clone);
          if (proxy) {
            // The clone rebooted, or its script run twice: nothing changes either.
            await expectRebootAndRerunChangeNothing(cloneMachine, clone);
          }
        } finally {
          await cloneMachine.close();
        }
      } finally {
        await machine.close();
      }
    });
  },
);

describe.concurrent.each(MINORS)('Gitaly, GitLab %s', (version) => {
  test("installs that exact package from GitLab's repository with gitlab.rb in place, reconfigures once; a reboot or rerun changes nothing", async () => {
    const text = gitaly(version);
    expect(asReceived(text).length).toBeLessThan(USER_DATA_LIMIT / 2);
    const machine = await Rehearsal.open(node(text, 'ubuntu', { addresses: [] }));
    try {
      const boot = await machine.boot();
      expect(boot.exitCode, boot.console).toBe(0);
      expect(changes(boot)).toEqual([
        'curl -fsSL -o /tmp/gitlab-repository.sh https://packages.gitlab.com/install/repositories/gitlab/gitlab-ee/script.deb.sh',
        'apt-get update',
        `apt-get install -y gitlab-ee=${version}-ee.0`,
        'gitlab-ctl reconfigure',
      ]);
      const install = boot.calls.find((c) => name(c).startsWith('apt-get install'))!;
      // gitlab.rb is there before the package, so it neither reconfigures on its own nor tries Let's Encrypt.
      expect(install.files['/etc/gitlab/gitlab.rb']?.mode).toBe('0600');
      expect(install.env.EXTERNAL_URL).toBeUndefined();
      const reconfigure = boot.calls.find((c) => name(c) === 'gitlab-ctl reconfigure')!;
      expect(modesAt(reconfigure, SHARED_SECRETS)).toEqual(privateModes(SHARED_SECRETS));
      expect(said(boot).at(-1)).toBe('gitaly configured');
      expectNoSecretShown(boot);
      const reboot = await machine.reboot();
      expect(reboot.calls).toEqual([]);
      const again = await machine.runAgain();
      expect(again.exitCode, again.console).toBe(0);
      expect(configuration(again)).toEqual(configuration(boot));
    } finally {
      await machine.close();
    }
  });
});

test('a bastion boots saying which one it is, and nothing else; a reboot or a second run changes nothing', async () => {
  const machine = await Rehearsal.open(node(renderBastionUserData({ name: 'gitlab-bastion-host-a' }), 'ubuntu', { parameters: [] }));
  try {
    const result = await machine.boot();
    expect(result.exitCode, result.console).toBe(0);
    expect(result.calls).toEqual([]);
    expect(said(result)).toEqual(['bastion boot starts', 'bastion gitlab-bastion-host-a ready']);
    expectNoSecretShown(result);
    await expectRebootAndRerunChangeNothing(machine, result);
  } finally {
    await machine.close();
  }
});

describe.concurrent('a replaced base instance', () => {
  test('ends with the same gitlab-secrets.json as the first: the keys its reconfigure generated come back from Parameter Store', async () => {
    const first = await rehearse(node(rails('base'), 'gitlab-ami'));
    expect(first.exitCode, first.console).toBe(0);
    const second = await rehearse(
      node(rails('base'), 'gitlab-ami', { parameters: first.aws.parameters, instanceId: 'i-0fedcba9876543210' }),
    );
    expect(second.exitCode, second.console).toBe(0);
    const keys = (r: BootResult) => JSON.parse(r.files['/etc/gitlab/gitlab-secrets.json']!.content!);
    expect(keys(second)).toEqual(keys(first));
    // Nothing new to store, nothing overwritten.
    expect(second.aws.parameters).toEqual(first.aws.parameters);
  });
});

/** The base, newest release, with one thing going wrong. */
const failing = (extra: Partial<RehearsalOptions>) => rehearse(node(rails('base'), 'gitlab-ami', extra));
const stoppedAt = (result: BootResult) => said(result).find((line) => line.startsWith(BOOT_FAILED.replace('gitlab-aws: ', '')));

/** A clone of a base's baked image, newest release: what the group launches. */
async function bakedBase(): Promise<{ image: BakedImage; parameters: SsmParameter[] }> {
  const machine = await Rehearsal.open(node(rails('base'), 'gitlab-ami'));
  try {
    expect((await machine.boot()).exitCode).toBe(0);
    return { image: await machine.bake(), parameters: machine.store };
  } finally {
    await machine.close();
  }
}
let baked: ReturnType<typeof bakedBase> | undefined;

/** Every command each kind of node calls, made to fail (every call of it: retried ones give up), and the step the boot then names. */
const FAILURES: Array<[kind: 'rails-base' | 'rails-clone' | 'gitaly', command: string, step: string]> = [
  ['rails-base', 'curl', 'fetching the Amazon RDS certificate bundle'],
  ['rails-base', 'systemctl', 'configuring sshd for Git over SSH'],
  ['rails-base', '/opt/gitlab/embedded/bin/psql', 'creating the database extensions'],
  ['rails-base', 'gitlab-ctl reconfigure', 'gitlab-ctl reconfigure'],
  ['rails-base', 'gitlab-rails runner', 'turning on incremental CI job logging'],
  ['rails-clone', 'systemctl', 'configuring sshd for Git over SSH'],
  ['rails-clone', '/opt/gitlab/embedded/bin/psql', 'creating the database extensions'],
  ['rails-clone', 'gitlab-ctl reconfigure', 'gitlab-ctl reconfigure'],
  ['gitaly', 'curl', 'installing the GitLab package'],
  ['gitaly', 'apt-get install', 'installing the GitLab package'],
  ['gitaly', 'gitlab-ctl reconfigure', 'gitlab-ctl reconfigure'],
];

describe.concurrent('each failure ends the script with "boot failed" naming the step', () => {
  test('every command a node calls is among the failures tried', async () => {
    const kinds = await Promise.all([
      failing({}),
      (async () => {
        const { image, parameters } = await (baked ??= bakedBase());
        return rehearse(node(rails('clone'), image, { parameters }));
      })(),
      rehearse(node(gitaly(), 'ubuntu', { addresses: [] })),
    ]);
    const called = (['rails-base', 'rails-clone', 'gitaly'] as const).map((kind, i) => [
      kind,
      [...new Set(kinds[i]!.calls.map((c) => c.argv[0]!.split('/').pop()!))].sort(),
    ]);
    const tried = (['rails-base', 'rails-clone', 'gitaly'] as const).map((kind) => [
      kind,
      [...new Set(FAILURES.filter(([k]) => k === kind).map(([, command]) => command.split(' ')[0]!.split('/').pop()!))].sort(),
    ]);
    expect(called).toEqual(tried);
  });

  test.each(FAILURES)('%s: %s fails, the boot stops at "%s"', { timeout: 240_000 }, async (kind, command, step) => {
    let result: BootResult;
    if (kind === 'rails-base') result = await failing({ fail: [command] });
    else if (kind === 'gitaly') result = await rehearse(node(gitaly(), 'ubuntu', { addresses: [], fail: [command], timeoutSeconds: 180 }));
    else {
      const { image, parameters } = await (baked ??= bakedBase());
      result = await rehearse(node(rails('clone'), image, { parameters, fail: [command] }));
    }
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).not.toBe(0);
    expect(stoppedAt(result)).toMatch(new RegExp(`^boot failed at ${step} \\(line \\d+\\)$`));
    const done = {
      'rails-base': READY_FOR_IMAGING.replace('gitlab-aws: ', ''),
      'rails-clone': 'rails-clone configured',
      gitaly: 'gitaly configured',
    };
    expect(said(result)).not.toContain(done[kind]);
    expectNoSecretShown(result);
  });

  test(
    'a parameter the role may not read: read again 30 times, then the boot stops reading the secrets',
    { timeout: 240_000 },
    async () => {
      const result = await failing({
        deny: [{ operation: 'GetParameters', name: '/gitlab-aws/gitlab/gitaly-token' }],
        timeoutSeconds: 180,
      });
      expect(result.timedOut).toBe(false);
      expect(stoppedAt(result)).toMatch(/^boot failed at reading the secrets from Parameter Store/);
      expect(said(result)).toContain('gave up waiting for the secrets in Parameter Store after 30 attempts');
      expect(result.console).toContain(
        'is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-west-2:123456789012:parameter/gitlab-aws/gitlab/gitaly-token',
      );
      expect(result.calls.filter((c) => c.argv[0]!.endsWith('sleep'))).toHaveLength(30);
    },
  );

  test('a role that may not store the generated keys stops the base before it says ready for imaging', async () => {
    const result = await failing({ deny: [{ operation: 'PutParameter' }] });
    expect(stoppedAt(result)).toMatch(/^boot failed at storing the secrets the reconfigure generated/);
  });

  test(
    'Gitaly never answering: the wait is bounded (15 minutes of attempts) and says what it waited for',
    { timeout: 240_000 },
    async () => {
      const result = await failing({ addresses: [{ ip: GITALY_IP }], timeoutSeconds: 180 });
      expect(result.timedOut).toBe(false);
      expect(stoppedAt(result)).toMatch(/^boot failed at waiting for Gitaly/);
      expect(said(result)).toContain(`gave up waiting for Gitaly at ${GITALY_IP}:8075 after 90 attempts`);
      expect(result.calls.some((c) => name(c) === 'gitlab-ctl reconfigure')).toBe(false);
    },
  );

  test('the dpkg lock held twice: the Gitaly package install waits and goes on', async () => {
    const result = await rehearse(
      node(gitaly(), 'ubuntu', {
        addresses: [],
        fail: [
          { command: 'apt-get install', call: 1 },
          { command: 'apt-get install', call: 2 },
        ],
        collect: ['/etc/apt/apt.conf.d/90gitlab-aws-lock-timeout'],
      }),
    );
    expect(result.exitCode, result.console).toBe(0);
    expect(said(result)).toContain(`waiting for the gitlab-ee ${NEWEST} package (attempt 2 of 10)`);
    expect(result.files['/etc/apt/apt.conf.d/90gitlab-aws-lock-timeout']?.content).toBe('DPkg::Lock::Timeout "600";\n');
  });

  test('an expired role credential: the fetcher takes a fresh one from IMDS and the boot goes on', async () => {
    const result = await rehearse(node(rails('base'), 'gitlab-ami', { credentials: { expiredFirst: true } }));
    expect(result.exitCode, result.console).toBe(0);
    const ssm = result.aws.requests.filter((r) => r.service === 'ssm');
    expect(ssm.some((r) => r.error?.startsWith('ExpiredTokenException'))).toBe(true);
    expect(ssm.at(-1)!.outcome).toBe('ok');
  });

  test('the script without its /run/sshd line stops at sshd -t, as every install did before', async () => {
    const text = rails('base').replace('install -d -m 0755 /run/sshd\n', '');
    const result = await rehearse(node(text, 'gitlab-ami'));
    expect(result.console).toContain('Missing privilege separation directory: /run/sshd');
    expect(stoppedAt(result)).toMatch(/^boot failed at configuring sshd for Git over SSH/);
  });
});

test('EC2 receives every user-data compressed, under half its 16 KB, and cloud-init gets the text back', () => {
  for (const text of [rails('base'), rails('clone'), gitaly(), renderBastionUserData({ name: 'gitlab-bastion-host-a' })]) {
    expect(asReceived(text).length).toBeLessThan(USER_DATA_LIMIT / 2);
    expect(gunzipSync(asReceived(text)).toString('utf8')).toBe(text);
  }
});
