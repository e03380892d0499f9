import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createAwsSession, type AwsSession, type ServiceName } from '../src/aws/clients.js';
import { tempDir } from './helpers.js';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The SigV4 credential scope's service: which client really sent it, whatever the URL says. */
  service: string | undefined;
  region: string | undefined;
}

interface Recorder {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/**
 * A stand-in for LocalStack/moto that remembers every request and refuses it: with a 400 by
 * default, so calls end at once, or with a retryable 503.
 */
async function recordingServer(status: 400 | 503 = 400): Promise<Recorder> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? '');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, service: scope?.[2], region: scope?.[1] });
      if (status === 503) {
        res.writeHead(503, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>try again</Message></Error></ErrorResponse>',
        );
        return;
      }
      // Answer in the protocol the client speaks, so the SDK fails with our code rather than a parse error.
      const json = String(req.headers['content-type'] ?? '').includes('json');
      res.writeHead(400, { 'content-type': json ? 'application/x-amz-json-1.1' : 'text/xml', 'x-amzn-requestid': 'test-request' });
      res.end(
        json
          ? JSON.stringify({ __type: 'TestStop', message: 'recorded' })
          : scope?.[2] === 'ec2'
            ? '<Response><Errors><Error><Code>TestStop</Code><Message>recorded</Message></Error></Errors><RequestID>test-request</RequestID></Response>'
            : scope?.[2] === 's3'
              ? '<Error><Code>TestStop</Code><Message>recorded</Message><RequestId>test-request</RequestId></Error>'
              : '<ErrorResponse><Error><Type>Sender</Type><Code>TestStop</Code><Message>recorded</Message></Error><RequestId>test-request</RequestId></ErrorResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The name a service signs with, where it is not the session's name for it. */
const SIGNING_NAME: Partial<Record<ServiceName, string>> = { elbv2: 'elasticloadbalancing', cloudwatch: 'monitoring' };

/** One cheap read per service; a service added to the session without one here fails the coverage test. */
const CHEAP_READS: Record<ServiceName, (session: AwsSession) => Promise<unknown>> = {
  ec2: async (s) => (await s.ec2()).describeVpcs({}),
  iam: async (s) => (await s.iam()).getRole({ RoleName: 'x' }),
  sts: async (s) => (await s.sts()).getCallerIdentity({}),
  ssm: async (s) => (await s.ssm()).getParameter({ Name: 'x' }),
  s3: async (s) => (await s.s3()).listBuckets({}),
  route53: async (s) => (await s.route53()).listHostedZonesByName({}),
  acm: async (s) => (await s.acm()).listCertificates({}),
  rds: async (s) => (await s.rds()).describeDBInstances({}),
  elasticache: async (s) => (await s.elasticache()).describeReplicationGroups({}),
  elbv2: async (s) => (await s.elbv2()).describeLoadBalancers({}),
  tagging: async (s) => (await s.tagging()).getResources({ ResourcesPerPage: 1 }),
  autoscaling: async (s) => (await s.autoscaling()).describeAutoScalingGroups({}),
  cloudwatch: async (s) => (await s.cloudwatch()).describeAlarms({}),
  servicequotas: async (s) => (await s.servicequotas()).getServiceQuota({ ServiceCode: 'ec2', QuotaCode: 'L-0263D0A3' }),
  pricing: async (s) => (await s.pricing()).getProducts({ ServiceCode: 'AmazonEC2', MaxResults: 1 }),
};

/** The clients a session offers: every function on it except its two housekeeping methods. */
function offeredServices(session: AwsSession): string[] {
  return Object.entries(session)
    .filter(([key, value]) => typeof value === 'function' && key !== 'builtClients' && key !== 'close')
    .map(([key]) => key)
    .sort();
}

const ENV_KEYS = ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EC2', 'AWS_MAX_ATTEMPTS'] as const;
let savedEnv: Record<string, string | undefined>;
const servers: Recorder[] = [];

async function startServer(status: 400 | 503 = 400): Promise<Recorder> {
  const server = await recordingServer(status);
  servers.push(server);
  return server;
}

beforeEach(() => {
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
});

afterEach(async () => {
  for (const key of ENV_KEYS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('With AWS_ENDPOINT_URL pointing at a local HTTP server, every client sends its requests there', () => {
  test('the cheap reads cover exactly the services the session offers', async () => {
    const session = await createAwsSession({ region: 'us-west-2' });
    expect(offeredServices(session)).toEqual(Object.keys(CHEAP_READS).sort());
  });

  test('each service reaches the server, signed for that service', async () => {
    const server = await startServer();
    process.env.AWS_ENDPOINT_URL = server.url;
    const session = await createAwsSession({ region: 'us-west-2' });

    for (const service of offeredServices(session) as ServiceName[]) {
      const before = server.requests.length;
      await expect(CHEAP_READS[service](session), service).rejects.toThrow();
      const sent = server.requests.slice(before);
      expect(sent.length, `${service} sent nothing to ${server.url}`).toBeGreaterThanOrEqual(1);
      expect(sent.map((r) => r.service)).toEqual(sent.map(() => SIGNING_NAME[service] ?? service));
      expect(sent[0]!.headers.host).toBe(server.url.replace('http://', ''));
    }
    // The request really is the operation asked for, not some preflight of the SDK's.
    const bodies = server.requests.map((r) => `${r.service}: ${r.method} ${r.url} ${r.headers['x-amz-target'] ?? ''} ${r.body}`).join('\n');
    expect(bodies).toMatch(/ec2: .*Action=DescribeVpcs/);
    expect(bodies).toMatch(/iam: .*Action=GetRole/);
    expect(bodies).toMatch(/sts: .*Action=GetCallerIdentity/);
    expect(bodies).toMatch(/ssm: POST \/ AmazonSSM\.GetParameter/);
    expect(bodies).toMatch(/s3: GET \/(\?x-id=ListBuckets)?\s/);
    expect(bodies).toMatch(/route53: GET \/2013-04-01\/hostedzonesbyname/);
    expect(bodies).toMatch(/acm: POST \/ CertificateManager\.ListCertificates/);
  });

  test("the Price List client asks us-east-1, where the API is, whatever the session's region", async () => {
    const server = await startServer();
    process.env.AWS_ENDPOINT_URL = server.url;
    const session = await createAwsSession({ region: 'eu-west-1' });
    await expect(CHEAP_READS.pricing(session)).rejects.toThrow();
    await expect(CHEAP_READS.ec2(session)).rejects.toThrow();
    expect(server.requests.map((r) => `${r.service} ${r.region}`)).toEqual(['pricing us-east-1', 'ec2 eu-west-1']);
  });

  test('the failure the server answered reaches the caller', async () => {
    const server = await startServer();
    process.env.AWS_ENDPOINT_URL = server.url;
    const session = await createAwsSession({ region: 'us-west-2' });
    await expect(CHEAP_READS.sts(session)).rejects.toMatchObject({ name: 'TestStop', message: 'recorded' });
  });

  test('AWS_ENDPOINT_URL_EC2 wins over AWS_ENDPOINT_URL for EC2 only', async () => {
    const general = await startServer();
    const ec2Only = await startServer();
    process.env.AWS_ENDPOINT_URL = general.url;
    process.env.AWS_ENDPOINT_URL_EC2 = ec2Only.url;
    const session = await createAwsSession({ region: 'us-west-2' });

    await expect(CHEAP_READS.ec2(session)).rejects.toThrow();
    await expect(CHEAP_READS.sts(session)).rejects.toThrow();

    expect(ec2Only.requests.map((r) => r.service)).toEqual(['ec2']);
    expect(general.requests.map((r) => r.service)).toEqual(['sts']);
  });

  test("the operator's AWS_MAX_ATTEMPTS limits the attempts of a retryable failure", async () => {
    const server = await startServer(503);
    process.env.AWS_ENDPOINT_URL = server.url;
    process.env.AWS_MAX_ATTEMPTS = '1';
    const session = await createAwsSession({ region: 'us-west-2' });
    const sts = await session.sts();
    // Bounded, so a client that ignores the setting fails this test in seconds, not after its backoff.
    await expect(sts.getCallerIdentity({}, { abortSignal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    expect(server.requests).toHaveLength(1);
  });

  test('clients are built on first use, one at a time', async () => {
    const session = await createAwsSession({ region: 'us-west-2' });
    expect(session.builtClients()).toEqual([]);
    const ec2 = await session.ec2();
    expect(session.builtClients()).toEqual(['ec2']);
    // Asking again hands back the same client rather than building another.
    expect(await session.ec2()).toBe(ec2);
    expect(session.builtClients()).toEqual(['ec2']);
    await session.sts();
    expect(session.builtClients().sort()).toEqual(['ec2', 'sts']);
  });

  test('a sandbox session answers in-process and sends nothing over HTTP', async () => {
    const server = await startServer();
    process.env.AWS_ENDPOINT_URL = server.url;
    const session = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: await tempDir() } });
    try {
      const vpcs = await (await session.ec2()).describeVpcs({});
      expect(vpcs.Vpcs).toBeDefined();
      const identity = await (await session.sts()).getCallerIdentity({});
      expect(identity.Account).toMatch(/^\d{12}$/);
    } finally {
      await session.close();
    }
    expect(server.requests).toEqual([]);
  });
});
