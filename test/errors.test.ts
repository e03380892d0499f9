import { afterEach, describe, expect, test } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { explain, markCall } from '../src/aws/errors.js';
import { awsError } from '../src/sandbox/core.js';
import { runCli, tempDir } from './helpers.js';

/** An SDK-shaped error, as a client raises it, marked with the call it came from (as the clients' middleware does). */
function raised(
  code: string,
  message: string,
  call?: { service: 'ec2' | 'iam' | 's3' | 'sts' | 'rds' | 'elasticache'; operation: string },
) {
  const err = awsError(code, message, 403);
  if (call) markCall(err, { ...call, region: 'eu-west-1' });
  return err;
}

const savedFaults = process.env.GITLAB_AWS_SANDBOX_FAULTS;
afterEach(() => {
  if (savedFaults === undefined) delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
  else process.env.GITLAB_AWS_SANDBOX_FAULTS = savedFaults;
});

describe('AccessDenied names the missing action and the README\'s "Permissions"', () => {
  test("IAM: the action, the principal and the resource are read from AWS's message", () => {
    const e = explain(
      raised(
        'AccessDenied',
        'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/gitlab-role because no identity-based policy allows the iam:CreateRole action',
      ),
    );
    expect(e.message).toBe(
      'missing permission iam:CreateRole for arn:aws:iam::123456789012:user/ci on arn:aws:iam::123456789012:role/gitlab-role',
    );
    expect(e.fix).toContain('grant iam:CreateRole');
    expect(e.fix).toContain('"Permissions" in the README');
  });

  test('STS: an explicit deny says who must lift it', () => {
    const e = explain(
      raised(
        'AccessDenied',
        'User: arn:aws:sts::123456789012:assumed-role/dev/me is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/admin with an explicit deny in a service control policy',
      ),
    );
    expect(e.message).toContain('missing permission sts:AssumeRole');
    expect(e.fix).toMatch(/^an explicit deny in a service control policy blocks it: ask your AWS administrator/);
    expect(e.fix).toContain('"Permissions"');
  });

  test('EC2: an encoded message without the action: the action from the call, and how to decode the reason', () => {
    const e = explain(
      raised(
        'UnauthorizedOperation',
        'You are not authorized to perform this operation. Encoded authorization failure message: AbCdEf123',
        {
          service: 'ec2',
          operation: 'CreateVpc',
        },
      ),
    );
    expect(e.message).toBe('missing permission ec2:CreateVpc');
    expect(e.fix).toContain('aws sts decode-authorization-message --encoded-message');
    expect(e.raw).toContain('AbCdEf123');
  });

  test('S3\'s bare "Access Denied": the S3 action the operation needs', () => {
    const e = explain(raised('AccessDenied', 'Access Denied', { service: 's3', operation: 'PutBucketEncryption' }));
    expect(e.message).toBe('missing permission s3:PutEncryptionConfiguration');
    expect(e.fix).toContain('"Permissions"');
  });

  test("a real client's error carries its call: the sandbox refusing S3 PutBucketEncryption through the SDK", async () => {
    process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ denied: ['s3:PutBucketEncryption'] });
    const aws = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: await tempDir() } });
    const s3 = await aws.s3();
    await s3.createBucket({ Bucket: 'gl-errors-test', CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } });
    const err = await s3
      .putBucketEncryption({
        Bucket: 'gl-errors-test',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      })
      .catch((e: unknown) => e);
    await aws.close();
    const e = explain(err);
    expect(e.message).toBe('missing permission s3:PutEncryptionConfiguration');
    expect(e.raw).toMatch(/^AccessDenied: Access Denied \(s3 PutBucketEncryption in us-west-2, HTTP 403\)$/);
  });

  test('a refused connection names the service and says to check the network', async () => {
    const aws = await createAwsSession({ region: 'us-west-2' }); // test/setup.ts: a closed port
    const err = await (await aws.sts()).getCallerIdentity({}).catch((e: unknown) => e);
    const e = explain(err);
    expect(e.message).toMatch(/^cannot reach AWS \(sts in us-west-2\): /);
    expect(e.fix).toContain('check the network connection');
  });

  test("a step's own error keeps its words", () => {
    expect(explain(new Error('no public hosted zone holds gitlab.example.org'))).toEqual({
      message: 'no public hosted zone holds gitlab.example.org',
      raw: 'no public hosted zone holds gitlab.example.org',
    });
  });
});

describe('a quota names the quota and how to raise it', () => {
  const cases: Array<[code: string, awsMessage: string, service: string, name: string, quota?: string]> = [
    ['AddressLimitExceeded', 'The maximum number of addresses has been reached.', 'ec2', 'EC2-VPC Elastic IPs', 'L-0263D0A3'],
    ['VpcLimitExceeded', 'The maximum number of VPCs has been reached.', 'vpc', 'VPCs per Region', 'L-F678F1CE'],
    [
      'NatGatewayLimitExceeded',
      'The maximum number of NAT Gateways has been reached.',
      'vpc',
      'NAT gateways per Availability Zone',
      'L-FE5A380F',
    ],
    [
      'VcpuLimitExceeded',
      'You have requested more vCPU capacity than your current vCPU limit of 16 allows',
      'ec2',
      'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
      'L-1216C47A',
    ],
    [
      'InstanceLimitExceeded',
      'Your quota allows for 0 more running instance(s).',
      'ec2',
      'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
      'L-1216C47A',
    ],
    ['DBInstanceQuotaExceeded', 'Cannot create more than 40 DB instances', 'rds', 'DB instances', 'L-7B6409FD'],
    ['NodeQuotaForCustomerExceeded', 'Cannot create cache nodes: quota reached', 'elasticache', 'Nodes per Region'],
    ['LimitExceeded', 'Cannot exceed quota for RolesPerAccount: 1000', 'iam', 'Roles per account', 'L-FE177D64'],
    [
      'TooManyLoadBalancers',
      'The quota of load balancers has been reached',
      'elasticloadbalancing',
      'Network Load Balancers per Region',
      'L-69A177A2',
    ],
    ['TooManyBuckets', 'You have attempted to create more buckets than allowed', 's3', 'General purpose buckets', 'L-DC2B2D3D'],
  ];

  test.each(cases)('%s', (code, awsMessage, service, name, quota) => {
    const err = awsError(code, awsMessage);
    markCall(err, { service: 'ec2', operation: 'SomeCall', region: 'eu-west-1' });
    const e = explain(err);
    expect(e.message).toBe(`quota reached: ${name}${quota ? ` (${quota})` : ''}: ${awsMessage}`);
    if (quota) {
      expect(e.fix).toContain(`https://eu-west-1.console.aws.amazon.com/servicequotas/home/services/${service}/quotas/${quota}`);
      expect(e.fix).toContain(
        `aws service-quotas request-service-quota-increase --service-code ${service} --quota-code ${quota} --desired-value <N> --region eu-west-1`,
      );
    } else {
      expect(e.fix).toContain(`aws service-quotas list-service-quotas --service-code ${service}`);
    }
  });

  test('a quota not in the table still says it is one', () => {
    const e = explain(awsError('KeyPairLimitExceeded', 'Maximum number of key pairs reached'));
    expect(e.message).toBe('an AWS service quota is reached: Maximum number of key pairs reached');
    expect(e.fix).toContain('Service Quotas console');
  });
});

describe('an expired or missing session says to log in again', () => {
  test('ExpiredToken with --profile: the profile named, and aws sso login for it', () => {
    const e = explain(awsError('ExpiredToken', 'The security token included in the request is expired'), { profile: 'admin' });
    expect(e.message).toBe('the AWS session (profile admin) has expired');
    expect(e.fix).toMatch(/^log in again: aws sso login --profile admin /);
  });

  test('without a profile: aws configure or fresh keys', () => {
    for (const code of ['ExpiredTokenException', 'RequestExpired']) {
      const e = explain(awsError(code, 'Request has expired.'));
      expect(e.message).toBe('the AWS session has expired');
      expect(e.fix).toContain('aws configure');
    }
    const invalid = explain(awsError('InvalidClientTokenId', 'The security token included in the request is invalid.'));
    expect(invalid.message).toBe('AWS does not accept the credentials (InvalidClientTokenId)');
    expect(invalid.fix).toContain('AWS_ACCESS_KEY_ID');
  });

  test("the SDK's own credential errors: an SSO session expired, no credentials at all", () => {
    const sso = Object.assign(
      new Error(
        'The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.',
      ),
      { name: 'CredentialsProviderError' },
    );
    const e = explain(sso, { profile: 'dev' });
    expect(e.message).toBe('the AWS session (profile dev) has expired (SSO)');
    expect(e.fix).toContain('aws sso login --profile dev');
    const none = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(explain(none).message).toBe('no usable AWS credentials: Could not load credentials from any providers');
  });
});

describe('an install failing on a missing permission, end to end', () => {
  test('the step names the action and "Permissions"; --verbose adds AWS\'s own error', async () => {
    const dir = await tempDir();
    const env = { GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ denied: ['ec2:CreateVpc'] }) };
    const failed = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('✖ vpc: missing permission ec2:CreateVpc for arn:aws:iam::123456789012:user/sandbox');
    expect(failed.stderr).toContain('fix: grant ec2:CreateVpc to the identity in use');
    expect(failed.stderr).toContain('"Permissions" in the README');
    expect(failed.stderr).not.toContain('aws: UnauthorizedOperation');

    const verbose = await runCli(['resume', '--sandbox', '--yes', '--verbose', '--state-dir', dir], env);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(
      /\n {2}aws: UnauthorizedOperation: You are not authorized to perform this operation\. .*Encoded authorization failure message: \S+ \(ec2 CreateVpc in us-west-2, HTTP 403\)/,
    );
  });
});

describe("the CLI's last-resort report", () => {
  test("an AWS error no command caught is said in the operator's words; --verbose adds AWS's own line", async () => {
    const dir = await tempDir();
    const env = { GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ denied: ['tagging:GetResources'] }) };
    const plain = await runCli(['status', '--sandbox', '--discover', '--state-dir', dir], env);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(
      /^error: missing permission tag:GetResources for arn:aws:iam::123456789012:user\/sandbox .*\(fix: grant tag:GetResources/,
    );
    expect(plain.stderr).not.toContain('aws: ');
    const verbose = await runCli(['status', '--sandbox', '--discover', '--verbose', '--state-dir', dir], env);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/\naws: AccessDeniedException: User: .* \(tagging GetResources in us-west-2, HTTP 403\)\n/);
  });
});
