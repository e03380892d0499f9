import { isKind } from '../../../aws/errors.js';
import { elasticache } from '../../../steps/elasticache.js';
import { asking, outputsOf, type Check } from './check.js';

/** The ElastiCache replication group's status (available, modifying, snapshotting...). */
export const cacheStatus: Check = (input) => {
  const outputs = outputsOf(input.state, elasticache);
  if (!outputs) return undefined;
  const id = outputs.replicationGroupId;
  return asking(input, { id: 'cache', title: 'Redis (ElastiCache)' }, async () => {
    const elasticache = await input.aws.elasticache();
    try {
      const group = (await elasticache.describeReplicationGroups({ ReplicationGroupId: id })).ReplicationGroups?.[0];
      const status = group?.Status ?? 'unknown';
      return {
        state: status === 'available' ? 'ok' : status === 'modifying' || status === 'snapshotting' ? 'warn' : 'fail',
        text: `${id}: ${status}`,
        data: { replicationGroupId: id, status },
      };
    } catch (err) {
      if (!isKind(err, 'not-found')) throw err;
      return { state: 'fail', text: `${id}: not found`, data: { replicationGroupId: id, status: 'not-found' } };
    }
  });
};
