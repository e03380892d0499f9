import { describe, expect, it } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { SERVICE_NAMES } from '../src/aws/services.js';
import { runCli, tempDir } from './helpers.js';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxPublicKey } from '../src/config/ssh-key.js';

/**
 * No test can reach a real AWS account: test/setup.ts gives fake credentials and points every
 * endpoint at a closed local port. These tests would fail if that net were ever removed.
 */
describe('the safety net of the tests', () => {
  it('sends every real-mode call of every client to the closed local port, and nowhere else', async () => {
    const aws = await createAwsSession({ region: 'us-east-1' });
    const [sts, ec2, iam, ssm, s3] = [await aws.sts(), await aws.ec2(), await aws.iam(), await aws.ssm(), await aws.s3()];
    const [route53, acm, tagging, rds] = [await aws.route53(), await aws.acm(), await aws.tagging(), await aws.rds()];
    const [elasticache, elbv2] = [await aws.elasticache(), await aws.elbv2()];
    const [autoscaling, cloudwatch] = [await aws.autoscaling(), await aws.cloudwatch()];
    const [servicequotas, pricing] = [await aws.servicequotas(), await aws.pricing()];
    const results = await Promise.allSettled([
      sts.getCallerIdentity({}),
      ec2.describeVpcs({}),
      iam.listRoles({}),
      ssm.describeParameters({}),
      s3.listBuckets({}),
      route53.listHostedZonesByName({}),
      acm.listCertificates({}),
      tagging.getResources({}),
      rds.describeDBInstances({}),
      elasticache.describeReplicationGroups({}),
      elbv2.describeLoadBalancers({}),
      autoscaling.describeAutoScalingGroups({}),
      cloudwatch.describeAlarms({}),
      servicequotas.getServiceQuota({ ServiceCode: 'ec2', QuotaCode: 'L-0263D0A3' }),
      pricing.describeServices({}),
    ]);
    const refusedAt = results.map((r) => {
      const reason = (r as PromiseRejectedResult).reason as { code?: string; address?: string; port?: number };
      return `${reason.code} ${reason.address}:${reason.port}`;
    });
    expect(refusedAt).toEqual(Array(15).fill('ECONNREFUSED 127.0.0.1:1'));
    // Every service the session offers was tried: a new one must join this list.
    expect(aws.builtClients().sort()).toEqual([...SERVICE_NAMES].sort());
  });

  it('the CLI without --sandbox stops at the credential check, creating nothing', async () => {
    const dir = await tempDir();
    const key = join(await tempDir(), 'id_ed25519.pub');
    await writeFile(key, `${sandboxPublicKey('gitlab')}\n`);
    const run = await runCli([
      'install',
      '--yes',
      '--region',
      'us-west-2',
      '--domain',
      'gitlab.example.com',
      '--ssh-public-key',
      key,
      '--state-dir',
      dir,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: cannot use AWS credentials/);
    expect(await readdir(dir)).toEqual([]);
  });
});
