import { buildInstallConfig } from '../src/config/schema.js';
import type { KnownFacts } from '../src/gitlab/node-inputs.js';
import { bucketNames } from '../src/steps/names.js';
import { parameterNames } from '../src/steps/secrets.js';

/** The renderers' tests' deployment: the guide's defaults in us-west-2. */
export const NODE_CONFIG = buildInstallConfig({
  deployment: 'gitlab',
  region: 'us-west-2',
  sandbox: true,
  sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7x test',
});

/** The private IP the facts give Gitaly. */
export const GITALY_IP = '10.0.1.25';

/** Everything known, as after an install of the steps before the compute ones. */
export function nodeFacts(version = '19.5.1', proxyProtocol = false): KnownFacts {
  return {
    release: { edition: 'ee', version },
    vpcCidr: '10.0.0.0/16',
    database: { host: 'gitlab-db-ha.abc123.us-west-2.rds.amazonaws.com', port: 5432, name: 'gitlabhq_production', username: 'gitlab' },
    redis: { host: 'master.gitlab-redis.abc123.usw2.cache.amazonaws.com', port: 6379 },
    gitalyAddress: GITALY_IP,
    buckets: bucketNames(NODE_CONFIG, '123456789012'),
    parameters: parameterNames('gitlab'),
    proxyProtocol,
  };
}
