import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import type { Health } from '../src/commands/status/health/index.js';
import { runCli, tempDir } from './helpers.js';

let dir: string;

/** The status of a state file, as --json prints it. */
function parsed(stdout: string) {
  return JSON.parse(stdout) as { exists: boolean; steps: Array<{ id: string; status: string }>; health?: Health; url?: string };
}

beforeAll(async () => {
  dir = await tempDir();
  const install = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir]);
  expect(install.code, install.stderr).toBe(0);
}, 120_000);

describe('status of a sandbox install shows live health', () => {
  test('targets, the group, RDS, the cache, the certificate and the URL, in words', async () => {
    const shown = await runCli(['status', '--sandbox', '--state-dir', dir]);
    expect(shown.code, shown.stderr).toBe(0);
    const health = shown.stdout.slice(shown.stdout.indexOf('Live health:'));
    expect(health).toMatch(/✔ Load balancer targets +http: 2 of 2 healthy( \(1 draining\))?, ssh: 2 of 2 healthy\n/);
    expect(health).toMatch(/✔ Auto Scaling group +gitlab-auto-scaling-group: 2 of 2 instances InService and healthy\n/);
    expect(health).toMatch(/✔ PostgreSQL \(RDS\) +gitlab-db-ha: available\n/);
    expect(health).toMatch(/✔ Redis \(ElastiCache\) +gitlab-redis: available\n/);
    expect(health).toMatch(/✔ TLS certificate +gitlab\.example\.com: ISSUED, expires \d{4}-\d\d-\d\d \(\d+ days left\)\n/);
    expect(health).toMatch(/GitLab: https:\/\/gitlab\.example\.com\n?$/);
  });

  test('--json has `health`, each check with its state and data', async () => {
    const shown = await runCli(['status', '--sandbox', '--json', '--state-dir', dir]);
    expect(shown.code, shown.stderr).toBe(0);
    const view = parsed(shown.stdout);
    expect(view.url).toBe('https://gitlab.example.com');
    expect(view.health?.checked).toBe(true);
    const checks = view.health?.checked ? view.health.checks : [];
    expect(checks.map((c) => [c.id, c.state])).toEqual([
      ['targets', 'ok'],
      ['auto-scaling-group', 'ok'],
      ['database', 'ok'],
      ['cache', 'ok'],
      ['certificate', 'ok'],
    ]);
    const certificate = checks.find((c) => c.id === 'certificate')!.data as { status: string; notAfter: string; daysLeft: number };
    expect(certificate.status).toBe('ISSUED');
    expect(certificate.daysLeft).toBeGreaterThan(30);
    const groups = (checks.find((c) => c.id === 'targets')!.data as { targetGroups: Array<{ name: string; healthy: number }> })
      .targetGroups;
    expect(groups.map((g) => [g.name, g.healthy])).toEqual([
      ['http', 2],
      ['ssh', 2],
    ]);
  });

  test('a database that stopped serving shows as such', async () => {
    const copy = await tempDir();
    for (const file of ['gitlab.json', 'sandbox-world.json']) await writeFile(join(copy, file), await readFile(join(dir, file)));
    const aws = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: copy } });
    const rds = await aws.rds();
    await rds.modifyDBInstance({ DBInstanceIdentifier: 'gitlab-db-ha', DeletionProtection: false, ApplyImmediately: true });
    await rds.deleteDBInstance({ DBInstanceIdentifier: 'gitlab-db-ha', SkipFinalSnapshot: true });
    await aws.close();
    const shown = await runCli(['status', '--sandbox', '--state-dir', copy]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/✖ PostgreSQL \(RDS\) +gitlab-db-ha: (deleting|not found)\n/);
  });

  test('--offline reads the state file only and says so', async () => {
    const shown = await runCli(['status', '--sandbox', '--offline', '--json', '--state-dir', dir]);
    expect(shown.code).toBe(0);
    expect(parsed(shown.stdout).health).toEqual({ checked: false, reason: 'not checked (--offline)' });
  });
});

describe('status without AWS still shows the state file, with the reason, at once', () => {
  /** The sandbox's state file, as if installed on real AWS: status then asks AWS (here, nobody). */
  async function realDeployment(): Promise<string> {
    const copy = await tempDir();
    const state = JSON.parse(await readFile(join(dir, 'gitlab.json'), 'utf8'));
    await writeFile(join(copy, 'gitlab.json'), JSON.stringify({ ...state, sandbox: false }));
    return copy;
  }

  test('every endpoint a closed port (test/setup.ts): exit 0, the steps shown, one line naming why', async () => {
    const copy = await realDeployment();
    const shown = await runCli(['status', '--state-dir', copy]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/ {2}Auto Scaling group +complete/);
    expect(shown.stdout).toMatch(/\nLive health not checked: cannot reach AWS \(sts in us-west-2\): .*\(fix: check the network connection/);
    expect(shown.stdout).not.toContain('Live health:');
  });

  let server: Server;
  let requests = 0;
  beforeAll(async () => {
    // An AWS that keeps answering 503 (a retryable error): a status that retried as an install does would ask ten times.
    server = createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>try again</Message></Error></ErrorResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('it does not wait out retries: AWS asked twice at most, even with no AWS_MAX_ATTEMPTS set', async () => {
    const copy = await realDeployment();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // An empty AWS_MAX_ATTEMPTS is the operator's unset one: the program's own retry settings apply.
    const shown = await runCli(['status', '--json', '--state-dir', copy], { AWS_ENDPOINT_URL: url, AWS_MAX_ATTEMPTS: '' });
    expect(shown.code, shown.stderr).toBe(0);
    const view = parsed(shown.stdout);
    expect(view.exists).toBe(true);
    expect(view.health).toMatchObject({ checked: false, reason: expect.stringMatching(/^AWS failed on its side: try again/) });
    expect(requests).toBeGreaterThan(0);
    expect(requests).toBeLessThanOrEqual(2);
  });
});
