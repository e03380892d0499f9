import { describe, expect, it } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { errorCode } from '../src/aws/errors.js';
import { resourceTags, TAG_DEPLOYMENT } from '../src/aws/tags.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

const { stateDir, keep } = sandboxFixtures('gitlab-aws-tagging-');

async function account() {
  const dir = await stateDir();
  const open = async (region: string) => {
    const s = await createAwsSession({ region, sandbox: { stateDir: dir } });
    keep(s);
    return s;
  };
  return { oregon: await open('us-west-2'), ireland: await open('eu-west-1') };
}

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const OURS = [{ Key: TAG_DEPLOYMENT, Values: ['poc'] }];

/** One account: some of deployment 'poc' in two regions, someone else's, and IAM (which GetResources does not list). */
async function stage() {
  const { oregon, ireland } = await account();
  const ec2 = await oregon.ec2();
  const vpc = (
    await ec2.createVpc({
      CidrBlock: '10.0.0.0/16',
      TagSpecifications: [{ ResourceType: 'vpc', Tags: resourceTags('poc', 'vpc', 'poc-vpc') }],
    })
  ).Vpc!.VpcId!;
  await ec2.createVpc({
    CidrBlock: '10.1.0.0/16',
    TagSpecifications: [{ ResourceType: 'vpc', Tags: resourceTags('other', 'vpc', 'other-vpc') }],
  });
  await (
    await oregon.s3()
  ).createBucket({
    Bucket: 'poc-artifacts',
    CreateBucketConfiguration: { LocationConstraint: 'us-west-2', Tags: resourceTags('poc', 's3-buckets', 'poc-artifacts') },
  });
  await (
    await ireland.s3()
  ).createBucket({
    Bucket: 'poc-ireland',
    CreateBucketConfiguration: { LocationConstraint: 'eu-west-1', Tags: resourceTags('poc', 's3-buckets', 'poc-ireland') },
  });
  await (
    await oregon.ssm()
  ).putParameter({ Name: '/gitlab-aws/poc/x', Value: 'v', Type: 'String', Tags: resourceTags('poc', 'secrets', 'x') });
  await (
    await oregon.iam()
  ).createRole({ RoleName: 'poc-role', AssumeRolePolicyDocument: TRUST, Tags: resourceTags('poc', 'iam-role', 'poc-role') });
  return { oregon, ireland, vpc };
}

describe('sandbox Resource Groups Tagging API: GetResources', () => {
  it('lists the tagged resources of the call region by ARN (EC2, S3 in its own region, SSM), never IAM nor another region', async () => {
    const { oregon, ireland, vpc } = await stage();
    const here = await (await oregon.tagging()).getResources({ TagFilters: OURS });
    expect(here.ResourceTagMappingList!.map((r) => r.ResourceARN).sort()).toEqual(
      [
        'arn:aws:ec2:us-west-2:123456789012:vpc/' + vpc,
        'arn:aws:s3:::poc-artifacts',
        'arn:aws:ssm:us-west-2:123456789012:parameter/gitlab-aws/poc/x',
      ].sort(),
    );
    expect(here.PaginationToken).toBe('');
    const there = await (await ireland.tagging()).getResources({ TagFilters: OURS });
    expect(there.ResourceTagMappingList!.map((r) => r.ResourceARN)).toEqual(['arn:aws:s3:::poc-ireland']);
  });

  it('narrows by resource type (service, or service:type) and by every tag filter at once', async () => {
    const { oregon, vpc } = await stage();
    const tagging = await oregon.tagging();
    const arns = async (input: Parameters<typeof tagging.getResources>[0]) =>
      (await tagging.getResources(input)).ResourceTagMappingList!.map((r) => r.ResourceARN);
    expect(await arns({ TagFilters: OURS, ResourceTypeFilters: ['s3'] })).toEqual(['arn:aws:s3:::poc-artifacts']);
    expect(await arns({ TagFilters: OURS, ResourceTypeFilters: ['ec2:vpc'] })).toEqual([`arn:aws:ec2:us-west-2:123456789012:vpc/${vpc}`]);
    expect(
      await arns({ TagFilters: [...OURS, { Key: 'gitlab-aws:step', Values: ['secrets', 'vpc'] }], ResourceTypeFilters: ['ssm'] }),
    ).toEqual(['arn:aws:ssm:us-west-2:123456789012:parameter/gitlab-aws/poc/x']);
    expect(await arns({ TagFilters: [{ Key: TAG_DEPLOYMENT, Values: ['other'] }] })).toHaveLength(1);
  });

  it('pages with ResourcesPerPage and PaginationToken, each resource once, and refuses a page size AWS refuses', async () => {
    const { oregon } = await stage();
    const tagging = await oregon.tagging();
    const seen: string[] = [];
    let PaginationToken: string | undefined;
    do {
      const page = await tagging.getResources({ TagFilters: OURS, ResourcesPerPage: 1, ...(PaginationToken ? { PaginationToken } : {}) });
      expect(page.ResourceTagMappingList).toHaveLength(1);
      seen.push(page.ResourceTagMappingList![0]!.ResourceARN!);
      PaginationToken = page.PaginationToken || undefined;
    } while (PaginationToken);
    expect(new Set(seen).size).toBe(3);
    expect(seen).toHaveLength(3);
    const refused = await tagging.getResources({ ResourcesPerPage: 101 }).catch((err: unknown) => err);
    expect(errorCode(refused)).toBe('InvalidParameterException');
  });
});

describe('sandbox S3 from another region', () => {
  it("follows the redirect to a bucket's region, as the S3 client is configured to, and HeadBucket names that region", async () => {
    const { oregon } = await stage();
    const s3 = await oregon.s3();
    expect((await s3.getBucketTagging({ Bucket: 'poc-ireland' })).TagSet).toContainEqual({ Key: TAG_DEPLOYMENT, Value: 'poc' });
    expect((await s3.headBucket({ Bucket: 'poc-ireland' })).BucketRegion).toBe('eu-west-1');
  });
});
