// Boot rehearsal: the fake AWS endpoint, run by the harness inside the rehearsal's own network
// namespace (never on the machine's network). One process serves:
// - IMDSv2 on 169.254.169.254:80 (a PUT token first; every GET must carry it, else 401),
// - SSM's JSON 1.1 protocol over HTTPS on 127.0.0.1:443 for ssm.<region>.amazonaws.com, each
//   request's Signature Version 4 verified with @smithy/signature-v4 (the SDK's own signer, not the
//   fetcher's Python) before anything is answered,
// - plain TCP listeners on extra addresses (a Gitaly node's port, so a wait for it succeeds).
// Usage: node fake-aws.mjs <control FIFO>: it starts once per rehearsal and is told, one line per
// run, `run <config.json>` (fresh state from that file, listen, then write its ready file) or
// `idle` (stop listening). State goes out as files: the request log (one JSON line per request,
// never a value) and the parameter store, rewritten after every change.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { createInterface } from 'node:readline';

/** One run's configuration and state; `load` starts them afresh. */
let config, region, roleName, instanceId, accountId;
/** @type {Array<{Name: string, Value: string, Type: string, Version: number, Tier: string, Tags: Array<{Key: string, Value: string}>, LastModifiedDate: number}>} */
let store = [];

function saveStore() {
  writeFileSync(config.storeOut + '.tmp', JSON.stringify(store, null, 2));
  renameSync(config.storeOut + '.tmp', config.storeOut);
}
function log(entry) {
  appendFileSync(config.requestLog, JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
}

/** Node's crypto as the signer's hash (the SDK's Checksum interface). */
class Sha256 {
  constructor(secret) {
    this.hash = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data) {
    this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
  reset() {}
}

// ---- IMDSv2 ----------------------------------------------------------------------------------
const tokens = new Map(); // token -> expiry (ms)
/** @type {Map<string, {secret: string, token: string, expiration: number, requestsLeft: number | null}>} */
const keys = new Map();
let current = null;
let handedOut = 0;

function load(path) {
  config = JSON.parse(readFileSync(path, 'utf8'));
  ({ region, roleName, instanceId, accountId } = config);
  store = config.parameters.map((p) => ({ Type: 'SecureString', Version: 1, Tier: 'Standard', Tags: [], LastModifiedDate: 0, ...p }));
  tokens.clear();
  keys.clear();
  current = null;
  handedOut = 0;
}

function freshCredentials() {
  const id = 'ASIA' + randomBytes(8).toString('hex').toUpperCase();
  const expired = config.credentials?.expiredFirst && handedOut === 0;
  const entry = {
    secret: randomBytes(30).toString('base64'),
    token: 'IQoJb3JpZ2luX2VjE' + randomBytes(96).toString('base64'),
    // EC2 hands out credentials valid for hours; the rehearsal can start with a set that has just expired.
    expiration: expired ? Date.now() - 60_000 : Date.now() + 6 * 3600_000,
    requestsLeft: config.credentials?.validForRequests ?? null,
  };
  keys.set(id, entry);
  handedOut++;
  current = id;
  return id;
}
function usable(id) {
  const entry = keys.get(id);
  return entry && entry.expiration > Date.now() && (entry.requestsLeft === null || entry.requestsLeft > 0);
}

function imds(request, response) {
  const path = request.url ?? '';
  const send = (status, body, outcome) => {
    log({ service: 'imds', method: request.method, path, status, outcome });
    response.writeHead(status, { 'Content-Type': 'text/plain' });
    response.end(body);
  };
  if (request.method === 'PUT' && path === '/latest/api/token') {
    const ttl = Number(request.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(400, '', 'refused: TTL missing or out of 1..21600');
    const token = randomBytes(32).toString('base64');
    tokens.set(token, Date.now() + ttl * 1000);
    return send(200, token, 'token');
  }
  if (request.method !== 'GET') return send(405, '', 'refused: method');
  const token = request.headers['x-aws-ec2-metadata-token'];
  if (typeof token !== 'string' || !((tokens.get(token) ?? 0) > Date.now())) return send(401, '', 'refused: no valid IMDSv2 token');
  const credentialsPath = '/latest/meta-data/iam/security-credentials/';
  if (path === '/latest/meta-data/placement/region') return send(200, region, 'ok');
  if (path === '/latest/meta-data/placement/availability-zone') return send(200, region + 'a', 'ok');
  if (path === '/latest/meta-data/instance-id') return send(200, instanceId, 'ok');
  if (path === credentialsPath) return send(200, roleName, 'ok');
  if (path === credentialsPath + roleName) {
    // EC2 rotates the role's credentials before they expire: a set used up is replaced by a fresh one.
    const id = current && usable(current) ? current : freshCredentials();
    const entry = keys.get(id);
    const body = {
      Code: 'Success',
      LastUpdated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      Type: 'AWS-HMAC',
      AccessKeyId: id,
      SecretAccessKey: entry.secret,
      Token: entry.token,
      Expiration: new Date(entry.expiration).toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    log({ service: 'imds', method: 'GET', path, status: 200, outcome: 'credentials', accessKeyId: id });
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    return response.end(JSON.stringify(body, null, 2));
  }
  return send(404, '', 'not found');
}

// ---- SSM ---------------------------------------------------------------------------------------
class AwsError extends Error {
  constructor(type, message, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Signature Version 4 as AWS checks it; returns the access key, or throws AWS's refusal. */
async function verify(request, body) {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? AUTHORIZATION.exec(header) : null;
  if (!match) throw new AwsError('IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature.');
  const [, accessKeyId, date, scopeRegion, service, signedHeaders, signature] = match;
  const amzDate = request.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate))
    throw new AwsError('IncompleteSignatureException', 'X-Amz-Date is missing.');
  if (date !== amzDate.slice(0, 8))
    throw new AwsError(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}'`,
    );
  if (scopeRegion !== region)
    throw new AwsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (service !== 'ssm') throw new AwsError('InvalidSignatureException', `Credential should be scoped to correct service: 'ssm'.`);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs(Date.now() - signingDate.getTime()) > 15 * 60_000) {
    throw new AwsError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than the 15 minutes AWS allows.`);
  }
  const entry = keys.get(accessKeyId);
  if (!entry) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (request.headers['x-amz-security-token'] !== entry.token)
    throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (!usable(accessKeyId)) throw new AwsError('ExpiredTokenException', 'The security token included in the request is expired');
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date'))
    throw new AwsError('InvalidSignatureException', 'SignedHeaders must include host and x-amz-date.');
  const headers = {};
  for (const name of names) {
    const value = request.headers[name];
    if (value === undefined) throw new AwsError('InvalidSignatureException', `Signed header ${name} is missing.`);
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // Loaded at the first signed request: a run that asks nothing of SSM starts faster.
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: entry.secret, sessionToken: entry.token },
    region,
    service: 'ssm',
    sha256: Sha256,
    applyChecksum: false,
  });
  const [path, query = ''] = (request.url ?? '/').split('?');
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'https:',
      hostname: headers.host,
      path,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers,
      body,
    },
    { signingDate },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)[1];
  const expectedHeaders = /SignedHeaders=([^,]+)/.exec(signed.headers.authorization)[1];
  if (expected !== signature || expectedHeaders !== signedHeaders) {
    throw new AwsError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  if (entry.requestsLeft !== null) entry.requestsLeft--;
  return accessKeyId;
}

const arn = (name) => `arn:aws:ssm:${region}:${accountId}:parameter/${name.replace(/^\//, '')}`;
function denied(operation, name) {
  for (const rule of config.deny ?? []) {
    if ((rule.operation && rule.operation !== operation) || (rule.name && rule.name !== name)) continue;
    if (rule.times !== undefined) {
      if (rule.times <= 0) continue;
      rule.times--;
    }
    return new AwsError(
      'AccessDeniedException',
      `User: arn:aws:sts::${accountId}:assumed-role/${roleName}/${instanceId} is not authorized to perform: ssm:${operation} on resource: ${arn(name)} because no identity-based policy allows the ssm:${operation} action`,
    );
  }
  return null;
}
function view(parameter, decrypt) {
  return {
    Name: parameter.Name,
    Type: parameter.Type,
    Value:
      parameter.Type === 'SecureString' && !decrypt
        ? 'AQICAHh' + createHash('sha256').update(parameter.Value).digest('base64')
        : parameter.Value,
    Version: parameter.Version,
    LastModifiedDate: parameter.LastModifiedDate,
    ARN: arn(parameter.Name),
    DataType: 'text',
  };
}
const NAME = /^\/?[a-zA-Z0-9_.\-/]{1,2048}$/;

function operate(operation, input) {
  const name = input.Name ?? input.Path ?? input.Names?.[0];
  const refusal = denied(operation, name);
  if (refusal) throw refusal;
  if (operation === 'GetParameter') {
    if (typeof input.Name !== 'string')
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null",
      );
    const found = store.find((p) => p.Name === input.Name);
    if (!found) throw new AwsError('ParameterNotFound', `Parameter ${input.Name} not found.`);
    return { Parameter: view(found, input.WithDecryption === true) };
  }
  if (operation === 'GetParameters') {
    // Each name is authorized on its own: one denied refuses the whole call, naming it.
    const names = input.Names;
    if (!Array.isArray(names) || names.length < 1 || names.length > 10)
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10",
      );
    for (const each of names.slice(1)) {
      const other = denied(operation, each);
      if (other) throw other;
    }
    const found = names.map((n) => store.find((p) => p.Name === n)).filter((p) => p !== undefined);
    return {
      Parameters: found.map((p) => view(p, input.WithDecryption === true)),
      InvalidParameters: names.filter((n) => !store.some((p) => p.Name === n)),
    };
  }
  if (operation === 'GetParametersByPath') {
    const path = input.Path;
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new AwsError('ValidationException', 'The parameter path must begin with a forward slash (/).');
    const max = input.MaxResults ?? 10;
    if (!Number.isInteger(max) || max < 1 || max > 10)
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${max}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10`,
      );
    const prefix = path.endsWith('/') ? path : path + '/';
    const matching = store
      .filter((p) => p.Name.startsWith(prefix) && (input.Recursive === true || !p.Name.slice(prefix.length).includes('/')))
      .sort((a, b) => a.Name.localeCompare(b.Name));
    const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64').toString().replace('page:', '')) : 0;
    if (!Number.isInteger(start) || start < 0) throw new AwsError('ValidationException', 'The specified token is not valid.');
    const page = matching.slice(start, start + max);
    return {
      Parameters: page.map((p) => view(p, input.WithDecryption === true)),
      ...(start + max < matching.length ? { NextToken: Buffer.from(`page:${start + max}`).toString('base64') } : {}),
    };
  }
  if (operation === 'PutParameter') {
    if (typeof input.Name !== 'string' || !NAME.test(input.Name))
      throw new AwsError('ValidationException', 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).');
    if (typeof input.Value !== 'string' || input.Value.length === 0)
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    if (input.Tags?.length && input.Overwrite === true) {
      throw new AwsError(
        'ValidationException',
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
      );
    }
    const found = store.find((p) => p.Name === input.Name);
    if (found && input.Overwrite !== true) {
      throw new AwsError(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    const type = input.Type ?? found?.Type;
    if (!['String', 'StringList', 'SecureString'].includes(type))
      throw new AwsError('ValidationException', 'A parameter type is required when you create a parameter.');
    const tier = input.Tier === 'Advanced' ? 'Advanced' : 'Standard';
    if (found)
      Object.assign(found, { Value: input.Value, Type: type, Version: found.Version + 1, Tier: tier, LastModifiedDate: Date.now() / 1000 });
    else
      store.push({
        Name: input.Name,
        Value: input.Value,
        Type: type,
        Version: 1,
        Tier: tier,
        Tags: input.Tags ?? [],
        LastModifiedDate: Date.now() / 1000,
      });
    saveStore();
    return { Version: (found ?? store[store.length - 1]).Version, Tier: tier };
  }
  throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`);
}

async function ssm(request, response) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const target = String(request.headers['x-amz-target'] ?? '');
  const operation = target.replace(/^AmazonSSM\./, '');
  let input = {};
  let readable = true;
  try {
    input = JSON.parse(body.toString() || '{}');
  } catch {
    readable = false;
  }
  let accessKeyId;
  try {
    // As AWS does: the signature first, then the request.
    accessKeyId = await verify(request, body);
    if (!readable) throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
    if (!target.startsWith('AmazonSSM.')) throw new AwsError('UnknownOperationException', `Unknown operation ${target}`);
    const output = operate(operation, input);
    log({ service: 'ssm', operation, name: input.Name ?? input.Path ?? input.Names?.join(','), accessKeyId, outcome: 'ok' });
    response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': randomBytes(16).toString('hex') });
    response.end(JSON.stringify(output));
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    log({
      service: 'ssm',
      operation,
      name: input.Name ?? input.Path ?? input.Names?.join(','),
      accessKeyId,
      outcome: 'refused',
      error: error.type,
      reason: error.message,
    });
    response.writeHead(error.status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': randomBytes(16).toString('hex') });
    response.end(JSON.stringify({ __type: error.type, message: error.message }));
  }
}

// ---- start ---------------------------------------------------------------------------------------
const fail = (what) => (error) => {
  process.stderr.write(`fake AWS endpoint: ${what}: ${error.message}\n`);
  process.exit(1);
};
/** Listens as one run's configuration asks; resolves to the servers once all listen. */
async function listen() {
  const servers = [];
  const started = (server, port, ip, what) =>
    new Promise((resolve) => {
      server.on('error', fail(what));
      server.listen(port, ip, resolve);
      servers.push(server);
    });
  const imdsServer = createHttpServer((request, response) => imds(request, response));
  const ssmServer = createHttpsServer({ key: readFileSync(config.tlsKey), cert: readFileSync(config.tlsCert) }, (request, response) => {
    ssm(request, response).catch((error) => {
      process.stderr.write(`fake AWS endpoint: ${error.stack}\n`);
      response.writeHead(500);
      response.end();
    });
  });
  await Promise.all([
    started(imdsServer, 80, '169.254.169.254', 'IMDS on 169.254.169.254:80'),
    started(ssmServer, 443, '127.0.0.1', 'SSM on 127.0.0.1:443'),
    ...(config.listeners ?? []).map(({ ip, port }) =>
      started(
        createTcpServer((socket) => socket.end()),
        port,
        ip,
        `listener on ${ip}:${port}`,
      ),
    ),
  ]);
  return servers;
}
async function close(servers) {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise((resolve) => {
          server.close(resolve);
          server.closeAllConnections?.();
        }),
    ),
  );
}

let servers = [];
for await (const line of createInterface({ input: createReadStream(process.argv[2]) })) {
  const [command, path] = line.split(' ');
  await close(servers);
  servers = [];
  if (command === 'run') {
    load(path);
    saveStore();
    servers = await listen();
    writeFileSync(config.readyFile, 'ready\n');
  }
}
