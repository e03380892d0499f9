/**
 * The boot rehearsal's own tests (test/boot/): what it runs for real, what it stubs, and that it
 * never touches the machine it runs on. The per-script assertions build on its API.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { railsNodeInput } from '../src/gitlab/node-inputs.js';
import { SSM_TOOL_PATH, SSM_TOOL_PY } from '../src/gitlab/ssm-tool.js';
import { BOOT_FAILED, renderRailsUserData } from '../src/gitlab/user-data.js';
import { Rehearsal, rehearse, type BootResult, type RehearsalOptions } from './boot/rehearsal.js';
import { NODE_CONFIG, nodeFacts } from './node-facts.js';

/** The contract's first lines (docs/compute-contract.md 1-2): strict mode, console and log, the ERR trap. */
const HEADER = [
  '#!/bin/bash',
  'set -euo pipefail',
  'exec > >(tee -a /var/log/gitlab-aws-boot.log | logger -t gitlab-aws -s 2>/dev/console) 2>&1',
  `trap 'echo "${BOOT_FAILED} (line $LINENO)"' ERR`,
];
const script = (...lines: string[]) => [...HEADER, ...lines].join('\n') + '\n';
/** The line number bash reports for a line of `script(...)`. */
const lineOf = (text: string, line: string) => text.split('\n').indexOf(line) + 1;

const SSM_CALL = '/usr/local/sbin/ssm-call';
/** The project's fetcher where the user-data writes it, and a helper that signs any SSM call with it. */
const FETCHER_FILES: RehearsalOptions['files'] = {
  [SSM_TOOL_PATH]: { content: SSM_TOOL_PY, mode: 0o755 },
  [SSM_CALL]: { content: readFileSync(join(import.meta.dirname, 'boot', 'ssm-call.py')), mode: 0o755 },
};
const ssmCall = (operation: string, input: object, spoil = '') =>
  `${SSM_CALL} ${SSM_TOOL_PATH} ${operation} '${JSON.stringify(input)}' ${spoil}`.trim();
const ssmGet = (name: string) => `AWS_REGION=us-west-2 ${SSM_TOOL_PATH} get ${name}`;

const ROOT_PASSWORD = { Name: '/gitlab-aws/gitlab/root-password', Value: 'rehearsal-root-password-9f3a' };
const ssmRequests = (result: BootResult) => result.aws.requests.filter((request) => request.service === 'ssm');
/** The console's lines without logger's `<13>Dec  6 04:23:21 gitlab-aws: ` prefix. */
const consoleLines = (result: BootResult) =>
  result.console.split('\n').map((line) => line.replace(/^<\d+>\w{3} [ \d]\d [\d:]{8} gitlab-aws: /, ''));

describe('the fake AWS endpoint', () => {
  test('answers a GetParameter the project fetcher signed, refuses the same request with its signature spoilt, over verified TLS', async () => {
    const get = { Name: ROOT_PASSWORD.Name, WithDecryption: true };
    const result = await rehearse({
      image: 'ubuntu',
      files: FETCHER_FILES,
      parameters: [ROOT_PASSWORD],
      userData: script(
        `echo "fetched: $(${ssmGet(ROOT_PASSWORD.Name)})"`,
        `echo "one character flipped: $(${ssmCall('GetParameter', get, 'break-signature')})"`,
        `echo "wrong secret: $(${ssmCall('GetParameter', get, 'wrong-secret')})"`,
        `echo "other region's scope: $(${ssmCall('GetParameter', get, 'wrong-region')})"`,
        // python's default context verifies: the name must match, and the chain must end in the system trust store.
        `{ python3 -c 'import urllib.request; urllib.request.urlopen("https://127.0.0.1/")' 2>&1 || true; } | tail -1 | sed 's/^/by address: /'`,
        `{ python3 -c 'import ssl, urllib.request; urllib.request.urlopen("https://ssm.us-west-2.amazonaws.com/", context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))' 2>&1 || true; } | tail -1 | sed 's/^/no trust store: /'`,
      ),
    });
    const lines = consoleLines(result);
    expect(result.exitCode).toBe(0);
    expect(lines).toContain(`fetched: ${ROOT_PASSWORD.Value}`);
    for (const prefix of ['one character flipped', 'wrong secret']) {
      const line = lines.find((l) => l.startsWith(prefix))!;
      expect(line).toMatch(/: 400 \{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match/);
    }
    expect(lines.find((l) => l.startsWith("other region's scope"))).toMatch(/400 .*InvalidSignatureException.*scoped to a valid region/);
    expect(result.console.split(ROOT_PASSWORD.Value)).toHaveLength(2); // the good fetch only
    expect(lines.find((l) => l.startsWith('by address:'))).toMatch(/CERTIFICATE_VERIFY_FAILED.*IP address mismatch/);
    expect(lines.find((l) => l.startsWith('no trust store:'))).toMatch(/CERTIFICATE_VERIFY_FAILED.*unable to get local issuer certificate/);
    expect(ssmRequests(result).map((r) => [r.operation, r.name, r.outcome, r.error])).toEqual([
      ['GetParameter', ROOT_PASSWORD.Name, 'ok', undefined],
      ['GetParameter', ROOT_PASSWORD.Name, 'refused', 'InvalidSignatureException'],
      ['GetParameter', ROOT_PASSWORD.Name, 'refused', 'InvalidSignatureException'],
      ['GetParameter', ROOT_PASSWORD.Name, 'refused', 'InvalidSignatureException'],
    ]);
    // The request log never holds a value.
    expect(JSON.stringify(result.aws.requests)).not.toContain(ROOT_PASSWORD.Value);
  });

  test('IMDSv2: a GET without a token is refused 401; the role credentials are temporary ones', async () => {
    const result = await rehearse({
      image: 'ubuntu',
      userData: script(
        `curl -s -o /dev/null -w 'no token: %{http_code}\\n' http://169.254.169.254/latest/meta-data/instance-id`,
        `token=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)`,
        `echo "instance: $(curl -s -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)"`,
        `role=$(curl -s -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/iam/security-credentials/)`,
        `curl -s -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/iam/security-credentials/$role" > /root/credentials.json`,
      ),
      collect: ['/root/credentials.json'],
    });
    expect(consoleLines(result)).toEqual(expect.arrayContaining(['no token: 401', 'instance: i-0123456789abcdef0']));
    const credentials = JSON.parse(result.files['/root/credentials.json']!.content!);
    expect(credentials).toMatchObject({ Code: 'Success', AccessKeyId: expect.stringMatching(/^ASIA/), Token: expect.any(String) });
    expect(Date.parse(credentials.Expiration)).toBeGreaterThan(Date.now());
  });

  test('an expired credential is refused with ExpiredTokenException; the fetcher takes a fresh one from IMDS and goes on', async () => {
    const result = await rehearse({
      image: 'ubuntu',
      files: FETCHER_FILES,
      parameters: [ROOT_PASSWORD],
      credentials: { expiredFirst: true },
      userData: script(
        `if value=$(${ssmGet(ROOT_PASSWORD.Name)}); then echo "first: $value"; else echo "first: failed"; fi`,
        `echo "second: $(${ssmGet(ROOT_PASSWORD.Name)})"`,
      ),
    });
    const lines = consoleLines(result);
    // The call holding the expired set is refused; the fetcher reads IMDS again and retries once.
    expect(lines).toContain(`first: ${ROOT_PASSWORD.Value}`);
    expect(lines).toContain(`second: ${ROOT_PASSWORD.Value}`);
    const [expired, retried] = ssmRequests(result);
    expect(expired).toMatchObject({ outcome: 'refused', error: 'ExpiredTokenException' });
    expect(retried).toMatchObject({ outcome: 'ok' });
    expect(retried!.accessKeyId).not.toBe(expired!.accessKeyId);

    // Credentials good for one request each: every fetch reads IMDS again and gets the next set.
    const rotating = await rehearse({
      image: 'ubuntu',
      files: FETCHER_FILES,
      parameters: [ROOT_PASSWORD],
      credentials: { validForRequests: 1 },
      userData: script(`${ssmGet(ROOT_PASSWORD.Name)} > /dev/null`, `${ssmGet(ROOT_PASSWORD.Name)} > /dev/null`),
    });
    expect(rotating.exitCode).toBe(0);
    const keys = ssmRequests(rotating).map((request) => [request.outcome, request.accessKeyId]);
    expect(keys).toHaveLength(2);
    expect(keys.every(([outcome]) => outcome === 'ok')).toBe(true);
    expect(keys[0]![1]).not.toBe(keys[1]![1]);
  });

  test('a denied parameter: AccessDeniedException naming ssm:GetParameters on its ARN, and the user-data retries until allowed', async () => {
    const base = renderRailsUserData(railsNodeInput(config, 'base', facts()));
    // The script's own retry loop and secret fetching, as the user-data defines them, for one secret.
    const retry = /^retry\(\) \{\n[\s\S]*?\n\}$/m.exec(base)![0];
    const lines = base.split('\n');
    const fetching = lines
      .slice(lines.indexOf('SECRETS=()'), lines.findIndex((line) => line.startsWith('retry 30 ')) + 1)
      .filter((line) => !line.startsWith("fetch_secret '"));
    const result = await rehearse({
      image: 'ubuntu',
      files: FETCHER_FILES,
      parameters: [ROOT_PASSWORD],
      deny: [{ operation: 'GetParameters', name: ROOT_PASSWORD.Name, times: 2 }],
      userData: script(
        retry,
        ...fetching.slice(0, 2),
        `fetch_secret '${ROOT_PASSWORD.Name}' '/etc/gitlab/gitlab-aws-secrets/root-password'`,
        ...fetching.slice(2),
        'echo fetched',
      ),
      collect: ['/etc/gitlab/gitlab-aws-secrets/root-password'],
    });
    expect(result.exitCode).toBe(0);
    const console = consoleLines(result);
    expect(console.filter((line) => line.includes('AccessDeniedException'))).toHaveLength(2);
    expect(console.find((line) => line.includes('AccessDeniedException'))).toContain(
      'is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-west-2:123456789012:parameter/gitlab-aws/gitlab/root-password',
    );
    expect(console).toEqual(
      expect.arrayContaining(['gitlab-aws: waiting for the secrets in Parameter Store (attempt 2 of 30)', 'fetched']),
    );
    expect(result.calls.map((call) => call.argv)).toEqual([
      ['/usr/bin/sleep', '10'],
      ['/usr/bin/sleep', '10'],
    ]);
    expect(result.files['/etc/gitlab/gitlab-aws-secrets/root-password']).toMatchObject({
      content: ROOT_PASSWORD.Value,
      mode: 0o600,
      uid: 0,
    });
  });

  test('SSM as AWS answers it: PutParameter without overwrite, tags with overwrite, paging by path; a second node sees what the first wrote', async () => {
    const put = (name: string, extra: object = {}) =>
      ssmCall('PutParameter', { Name: name, Value: `value-of-${name}`, Type: 'SecureString', ...extra });
    const first = await rehearse({
      image: 'ubuntu',
      files: FETCHER_FILES,
      parameters: [ROOT_PASSWORD],
      userData: script(
        `echo "put: $(${put('/gitlab-aws/gitlab/generated/a', { Tags: [{ Key: 'gitlab-aws:deployment', Value: 'gitlab' }] })})"`,
        `echo "put b: $(${put('/gitlab-aws/gitlab/generated/b')})"`,
        `echo "again: $(${put('/gitlab-aws/gitlab/generated/a')})"`,
        `echo "tags and overwrite: $(${put('/gitlab-aws/gitlab/generated/a', { Overwrite: true, Tags: [{ Key: 'k', Value: 'v' }] })})"`,
        `echo "overwrite: $(${put('/gitlab-aws/gitlab/generated/a', { Overwrite: true })})"`,
        `echo "page 1: $(${ssmCall('GetParametersByPath', { Path: '/gitlab-aws/gitlab', Recursive: true, MaxResults: 2 })})"`,
        `echo "one level: $(${ssmCall('GetParametersByPath', { Path: '/gitlab-aws/gitlab' })})"`,
        `echo "too many: $(${ssmCall('GetParametersByPath', { Path: '/gitlab-aws/gitlab', MaxResults: 11 })})"`,
        `echo "missing: $(${ssmCall('GetParameter', { Name: '/gitlab-aws/gitlab/nothing' })})"`,
      ),
    });
    const lines = consoleLines(first);
    const answer = (prefix: string) => lines.find((line) => line.startsWith(prefix + ': '))!.slice(prefix.length + 2);
    expect(answer('put')).toBe('200 {"Version":1,"Tier":"Standard"}');
    expect(answer('again')).toMatch(/^400 \{"__type":"ParameterAlreadyExists"/);
    expect(answer('tags and overwrite')).toMatch(
      /^400 \{"__type":"ValidationException","message":"Invalid request: tags and overwrite can't be used together/,
    );
    expect(answer('overwrite')).toBe('200 {"Version":2,"Tier":"Standard"}');
    const page = JSON.parse(answer('page 1').slice(4));
    expect(page.Parameters.map((p: { Name: string }) => p.Name)).toEqual([
      '/gitlab-aws/gitlab/generated/a',
      '/gitlab-aws/gitlab/generated/b',
    ]);
    expect(page.NextToken).toEqual(expect.any(String));
    expect(page.Parameters[0].Value).not.toContain('value-of'); // no WithDecryption: no plain value
    expect(JSON.parse(answer('one level').slice(4)).Parameters.map((p: { Name: string }) => p.Name)).toEqual([ROOT_PASSWORD.Name]);
    expect(answer('too many')).toMatch(/^400 \{"__type":"ValidationException"/);
    expect(answer('missing')).toMatch(
      /^400 \{"__type":"ParameterNotFound","message":"Parameter \/gitlab-aws\/gitlab\/nothing not found\."\}/,
    );
    const a = first.aws.parameters.find((p) => p.Name === '/gitlab-aws/gitlab/generated/a')!;
    expect(a).toMatchObject({
      Value: 'value-of-/gitlab-aws/gitlab/generated/a',
      Version: 2,
      Tags: [{ Key: 'gitlab-aws:deployment', Value: 'gitlab' }],
    });

    // A replaced node on the same account: the store as the first left it.
    const second = await rehearse({
      image: 'ubuntu',
      files: FETCHER_FILES,
      parameters: first.aws.parameters,
      userData: script(`echo "second node: $(${ssmGet('/gitlab-aws/gitlab/generated/a')})"`),
    });
    expect(consoleLines(second)).toContain('second node: value-of-/gitlab-aws/gitlab/generated/a');
  });
});

describe('the machine', () => {
  test('cloud-init on a first boot: gzip and MIME parts, bootcmd before the per-instance scripts, user-data last', async () => {
    const mime = [
      'Content-Type: multipart/mixed; boundary="==BOUNDARY=="',
      'MIME-Version: 1.0',
      '',
      '--==BOUNDARY==',
      'Content-Type: text/cloud-config; charset="us-ascii"',
      '',
      '#cloud-config',
      JSON.stringify({
        bootcmd: [['rm', '-f', '/var/lib/cloud/scripts/per-instance/gitlab'], 'echo "bootcmd of $INSTANCE_ID" > /var/tmp/bootcmd'],
      }),
      '--==BOUNDARY==',
      'Content-Type: text/x-shellscript; charset="us-ascii"',
      '',
      script('echo "user-data sees: $(cat /var/tmp/bootcmd)"'),
      '--==BOUNDARY==--',
      '',
    ].join('\n');
    const withBootcmd = await rehearse({ image: 'gitlab-ami', userData: gzipSync(mime) });
    expect(withBootcmd.steps.map((step) => [step.stage, step.exitCode])).toEqual([
      ['bootcmd', 0],
      ['user-data', 0],
    ]);
    expect(consoleLines(withBootcmd)).toContain('user-data sees: bootcmd of i-0123456789abcdef0');
    expect(withBootcmd.calls).toEqual([]); // the AMI's first-boot script was gone before it could reconfigure

    const plain = await rehearse({ image: 'gitlab-ami', userData: script('echo plain') });
    expect(plain.steps.map((step) => [step.stage, step.name, step.exitCode])).toEqual([
      ['per-instance', '/var/lib/cloud/scripts/per-instance/gitlab', 0],
      ['user-data', '/var/lib/cloud/instances/i-0123456789abcdef0/scripts/part-001', 0],
    ]);
    expect(plain.calls.map((call) => call.argv)).toEqual([['/usr/bin/gitlab-ctl', 'reconfigure']]);
    expect(plain.console.indexOf('gitlab AMI first boot')).toBeLessThan(plain.console.indexOf('plain'));
  });

  test('stubs record argv, the whole environment and the watched files, and fail where told', async () => {
    const text = script(
      'install -d -m 0700 /etc/gitlab/gitlab-aws-secrets',
      `PGPASSWORD=pw-through-env /opt/gitlab/embedded/bin/psql -h db -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm;'`,
      'sleep 10',
      'gitlab-ctl reconfigure',
      'echo after',
    );
    const result = await rehearse({
      image: 'gitlab-ami',
      userData: text,
      fail: [{ command: 'gitlab-ctl reconfigure', call: 2, message: 'reconfigure exploded' }],
    });
    expect(result.calls.map((call) => [call.argv, call.exitCode])).toEqual([
      [['/usr/bin/gitlab-ctl', 'reconfigure'], 0], // the AMI's first-boot script: the first matching call
      [['/opt/gitlab/embedded/bin/psql', '-h', 'db', '-c', 'CREATE EXTENSION IF NOT EXISTS pg_trgm;'], 0],
      [['/usr/bin/sleep', '10'], 0],
      [['/usr/bin/gitlab-ctl', 'reconfigure'], 1],
    ]);
    const psql = result.calls[1]!;
    expect(psql.env.PGPASSWORD).toBe('pw-through-env');
    expect(psql.env.PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(psql.files['/etc/gitlab/gitlab-aws-secrets']).toMatchObject({ mode: '0700', type: 'dir' });
    expect(result.exitCode).toBe(1);
    expect(consoleLines(result)).toEqual(
      expect.arrayContaining(['reconfigure exploded', `${BOOT_FAILED} (line ${lineOf(text, 'gitlab-ctl reconfigure')})`]),
    );
    expect(consoleLines(result)).not.toContain('after');
    expect(result.steps.at(-1)!.seconds).toBeLessThan(10); // `sleep 10` returned at once

    // Every call point fails in turn: the script stops there and says so.
    for (const [index, call] of result.calls.slice(1, 3).entries()) {
      const failing = await rehearse({ image: 'gitlab-ami', userData: text, failOnCall: index + 2 });
      expect(failing.calls.at(-1)!.argv).toEqual(call.argv);
      expect(failing.calls.at(-1)!.exitCode).toBe(1);
      expect(failing.exitCode).toBe(1);
      expect(failing.console).toContain(BOOT_FAILED);
    }
  });

  test('gitlab-ctl reconfigure keeps gitlab-secrets.json keys, generates the missing ones 0600, reads gitlab.rb, prints a secret as Chef does', async () => {
    const result = await rehearse({
      image: 'ubuntu',
      files: {
        '/etc/gitlab/gitlab-secrets.json': { content: JSON.stringify({ gitlab_rails: { db_key_base: 'kept-db-key-base' } }), mode: 0o600 },
      },
      userData: script(
        'command -v gitlab-ctl || echo "no gitlab-ctl yet"',
        "curl -fsSL 'https://packages.gitlab.com/install/repositories/gitlab/gitlab-ee/script.deb.sh' | bash",
        'apt-get install -y gitlab-ee=19.5.1-ee.0',
        'gitlab-ctl reconfigure',
        'curl -fsS https://example.com/ || echo "no network"',
      ),
      collect: ['/etc/gitlab/*', '/etc/apt/sources.list.d/gitlab_gitlab-ee.list'],
    });
    expect(result.exitCode).toBe(0);
    const lines = consoleLines(result);
    expect(lines).toEqual(expect.arrayContaining(['no gitlab-ctl yet', 'curl: (6) Could not resolve host: example.com', 'no network']));
    expect(result.calls.map((call) => call.argv.slice(1).join(' '))).toEqual([
      '-fsSL https://packages.gitlab.com/install/repositories/gitlab/gitlab-ee/script.deb.sh',
      'update',
      'install -y gitlab-ee=19.5.1-ee.0',
      'reconfigure',
      '-fsS https://example.com/',
    ]);
    expect(result.files['/etc/apt/sources.list.d/gitlab_gitlab-ee.list']!.content).toContain(
      'https://packages.gitlab.com/gitlab/gitlab-ee/ubuntu/ noble main',
    );
    expect(result.calls[3]!.gitlabRb).toContain("external_url 'http://gitlab.example.com'");
    const file = result.files['/etc/gitlab/gitlab-secrets.json']!;
    expect(file.mode).toBe(0o600);
    const secrets = JSON.parse(file.content!);
    expect(secrets.gitlab_rails.db_key_base).toBe('kept-db-key-base');
    expect(secrets.gitlab_rails.secret_key_base).toMatch(/^[0-9a-f]{128}$/);
    expect(secrets.gitlab_rails.active_record_encryption_primary_key).toEqual([expect.stringMatching(/^[A-Za-z0-9]{32}$/)]);
    expect(Object.keys(secrets).sort()).toEqual(['gitaly', 'gitlab_kas', 'gitlab_rails', 'gitlab_shell', 'gitlab_workhorse']);
    // The Chef-like output holds a value of gitlab-secrets.json: a script that lets it reach the console leaks it.
    expect(result.console).toContain(secrets.gitlab_workhorse.secret_token);
    expect(result.files['/etc/gitlab/gitlab.rb']).toMatchObject({ mode: 0o600 });
  });

  test('a port on another node: listening, closed, or a wait with no end (killed at the run timeout)', async () => {
    const probe = (label: string) =>
      `if (exec 3<>/dev/tcp/10.0.1.25/8075) 2>/dev/null; then echo "${label}: open"; else echo "${label}: closed"; fi`;
    const open = await rehearse({ image: 'ubuntu', addresses: [{ ip: '10.0.1.25', listen: [8075] }], userData: script(probe('gitaly')) });
    expect(consoleLines(open)).toContain('gitaly: open');
    const closed = await rehearse({
      image: 'ubuntu',
      addresses: [{ ip: '10.0.1.25' }],
      userData: script(probe('gitaly'), 'for attempt in 1 2 3; do (exec 3<>/dev/tcp/10.0.1.25/8075) 2>/dev/null && break; sleep 10; done'),
    });
    expect(consoleLines(closed)).toContain('gitaly: closed');
    expect(closed.calls.map((call) => call.argv.join(' '))).toEqual(Array(3).fill('/usr/bin/sleep 10'));
    const endless = await rehearse({
      image: 'ubuntu',
      timeoutSeconds: 0.5,
      userData: script('until (exec 3<>/dev/tcp/10.0.1.25/8075) 2>/dev/null; do sleep 10; done'),
    });
    expect(endless.timedOut).toBe(true);
    expect(endless.exitCode).toBe(-9); // killed by the harness
    expect(endless.steps.at(-1)).toMatchObject({ stage: 'user-data', timedOut: true });
  });

  test('what a boot leaves: world-readable files it wrote, and sshd -T reading the host keys it configured', async () => {
    const result = await rehearse({
      image: 'gitlab-ami',
      // Readable by anyone, but the image's: not written by the boot.
      files: { '/etc/gitlab/from-the-image.txt': { content: 'image\n', mode: 0o644 } },
      userData: script(
        'install -d -m 0755 /run/sshd',
        'install -d -m 0755 /etc/ssh_static',
        'for key in /etc/ssh/ssh_host_*_key; do',
        '  type="${key#/etc/ssh/ssh_host_}"; type="${type%_key}"',
        '  cp -p "$key" "$key.pub" /etc/ssh_static/',
        '  echo "HostKey /etc/ssh_static/ssh_host_${type}_key" >> /etc/ssh/sshd_config.d/static-host-keys.conf',
        'done',
        'echo readable > /etc/gitlab/readable.txt',
        '(umask 077 && echo private > /etc/gitlab/private.txt)',
      ),
    });
    expect(result.exitCode).toBe(0);
    expect(result.worldReadable).toEqual(['/etc/gitlab/readable.txt', '/var/log/gitlab-aws-boot.log']);
    expect(result.sshd.test).toMatchObject({ exitCode: 0, stderr: '' });
    expect(result.sshd.config.hostKeys).toEqual(['ecdsa', 'ed25519', 'rsa'].map((type) => `hostkey /etc/ssh_static/ssh_host_${type}_key`));
  });
});

describe('an image baked from a rehearsal', () => {
  test('an instance of it boots on the baked disk with new host keys, a new instance ID, and what the first boot left', async () => {
    const base = await Rehearsal.open({
      image: 'gitlab-ami',
      userData: script(
        'install -d -m 0755 /etc/ssh_static',
        'cp -p /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh_static/',
        'echo "HostKey /etc/ssh_static/ssh_host_ed25519_key" > /etc/ssh/sshd_config.d/static-host-keys.conf',
        // Deleting a file of the image (the machine's own, underneath) is kept too.
        'rm -f /var/lib/cloud/scripts/per-instance/gitlab /etc/gitlab/gitlab.rb /etc/debian_version',
        'gitlab-ctl reconfigure > /dev/null',
        'touch /run/base-was-here /tmp/base-was-here',
      ),
      collect: ['/etc/gitlab/gitlab-secrets.json', '/etc/ssh/ssh_host_ed25519_key.pub'],
    });
    let first: BootResult;
    let image;
    try {
      first = await base.boot();
      expect(first.exitCode).toBe(0);
      image = await base.bake();
    } finally {
      await base.close();
    }
    const clone = await rehearse({
      image,
      userData: script(
        'ls /run /tmp',
        'test ! -e /etc/gitlab/gitlab.rb',
        'test ! -e /etc/debian_version',
        'install -d -m 0755 /run/sshd',
        'gitlab-ctl reconfigure > /dev/null',
      ),
      collect: ['/etc/gitlab/gitlab-secrets.json', '/etc/ssh/ssh_host_ed25519_key.pub', '/etc/ssh_static/ssh_host_ed25519_key.pub'],
    });
    expect(clone.exitCode).toBe(0);
    // cloud-init sees a new instance, and the AMI's first-boot script is gone from the image.
    expect(clone.steps.map((step) => [step.stage, step.name])).toEqual([
      ['user-data', '/var/lib/cloud/instances/i-0fedcba9876543210/scripts/part-001'],
    ]);
    expect(clone.console).not.toContain('was-here'); // /run and /tmp are not on the disk
    // The instance's own host keys are new; the static ones are the base's, and sshd serves those.
    const baseKey = first!.files['/etc/ssh/ssh_host_ed25519_key.pub']!.content;
    expect(clone.files['/etc/ssh/ssh_host_ed25519_key.pub']!.content).not.toBe(baseKey);
    expect(clone.files['/etc/ssh_static/ssh_host_ed25519_key.pub']!.content).toBe(baseKey);
    expect(clone.sshd.config.hostKeys).toEqual(['hostkey /etc/ssh_static/ssh_host_ed25519_key']);
    // gitlab-secrets.json came with the image: the clone's reconfigure kept every value.
    expect(JSON.parse(clone.files['/etc/gitlab/gitlab-secrets.json']!.content!)).toEqual(
      JSON.parse(first!.files['/etc/gitlab/gitlab-secrets.json']!.content!),
    );
  });
});

describe('isolation', () => {
  test("a rehearsal leaves the machine's /etc, /run, binaries and network as they were; its endpoints listen only in its own namespace", async () => {
    const digest = (path: string) => (existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent');
    const watched = [
      '/etc/ssh/sshd_config',
      '/etc/hosts',
      '/etc/ssl/certs/ca-certificates.crt',
      '/etc/os-release',
      '/usr/bin/sleep',
      '/usr/bin/apt-get',
    ];
    // The namespace's listeners as /proc/net/tcp spells them: 169.254.169.254:80, 127.0.0.1:443, 10.0.1.25:8075.
    const theirs = ['FEA9FEA9:0050', '0100007F:01BB', '1901000A:1F8B'];
    const listening = () =>
      readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields[3] === '0A')
        .map((fields) => fields[1]!);
    const addresses = () => execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' });
    const before = { files: watched.map(digest), run: readdirSync('/run').sort(), gitlab: existsSync('/etc/gitlab') };
    expect(listening().filter((address) => theirs.includes(address))).toEqual([]);
    const rehearsal = await Rehearsal.open({
      image: 'gitlab-ami',
      addresses: [{ ip: '10.0.1.25', listen: [8075] }],
      userData: script(
        'install -d -m 0755 /run/sshd',
        "echo 'Match User git' >> /etc/ssh/sshd_config",
        'echo changed > /etc/gitlab/gitlab.rb',
        'touch /run/rehearsal-was-here',
        `curl -s -o /dev/null -w 'IMDS inside: %{http_code}\\n' -X PUT http://169.254.169.254/latest/api/token`,
        'if (exec 3<>/dev/tcp/10.0.1.25/8075); then echo "gitaly port inside: open"; fi',
        // Long enough for the test to look at the machine while the endpoints listen.
        'python3 -c "import time; time.sleep(1.5)"',
      ),
    });
    try {
      const booting = rehearsal.boot();
      // The endpoint logs the script's IMDS probe before the script sleeps: look at the machine then.
      const probed = join(rehearsal.dir, 'run-1', 'requests.jsonl');
      for (let waited = 0; !existsSync(probed) && waited < 20_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(existsSync(probed)).toBe(true);
      const during = { listening: listening(), addresses: addresses(), mounts: readFileSync('/proc/self/mountinfo', 'utf8') };
      const result = await booting;
      expect(result.exitCode).toBe(0);
      // Inside, the endpoints answered (400: a token PUT without its TTL header)...
      expect(consoleLines(result)).toEqual(expect.arrayContaining(['IMDS inside: 400', 'gitaly port inside: open']));
      expect(result.aws.requests).toMatchObject([{ service: 'imds', method: 'PUT', status: 400 }]);
      // ...while the machine had neither those listeners nor those addresses.
      expect(during.listening.filter((address) => theirs.includes(address))).toEqual([]);
      expect(during.addresses).not.toMatch(/169\.254\.169\.254|10\.0\.1\.25/);
      // Its tmpfs and overlay are mounts of its own namespace only.
      expect(during.mounts).not.toContain('gitlab-aws-rehearsal-');
    } finally {
      await rehearsal.close();
    }
    expect(watched.map(digest)).toEqual(before.files);
    expect(readdirSync('/run').sort()).toEqual(before.run);
    expect(existsSync('/run/rehearsal-was-here')).toBe(false);
    expect(existsSync('/etc/gitlab')).toBe(before.gitlab);
    expect(listening().filter((address) => theirs.includes(address))).toEqual([]);
  });
});

const config = NODE_CONFIG;
const facts = () => nodeFacts('19.5.1', true);

describe('first boot on Ubuntu 24.04: sshd is socket-activated, so /run/sshd does not exist yet', () => {
  test('sshd -t fails without /run/sshd and passes once it is made; a reboot empties /run again', async () => {
    const text = script(
      'if sshd -t; then echo "without /run/sshd: ok"; else echo "without /run/sshd: refused"; fi',
      'install -d -m 0755 /run/sshd',
      'sshd -t',
      'echo "with /run/sshd: ok"',
    );
    const rehearsal = await Rehearsal.open({ image: 'ubuntu', userData: text });
    try {
      const boot = await rehearsal.boot();
      expect(consoleLines(boot)).toEqual(
        expect.arrayContaining(['Missing privilege separation directory: /run/sshd\r', 'without /run/sshd: refused', 'with /run/sshd: ok']),
      );
      expect(boot.sshd.test.exitCode).toBe(0);
      const reboot = await rehearsal.reboot();
      expect(reboot.steps.filter((step) => step.stage === 'user-data')).toEqual([]);
      expect(reboot.sshd.test).toMatchObject({ exitCode: 255, stderr: 'Missing privilege separation directory: /run/sshd\r\n' });
      const again = await rehearsal.runAgain();
      expect(again.exitCode).toBe(0);
      expect(again.sshd.test.exitCode).toBe(0);
    } finally {
      await rehearsal.close();
    }
  });
});
