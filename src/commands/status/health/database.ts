import { isKind } from '../../../aws/errors.js';
import { rdsPostgres } from '../../../steps/rds-postgres.js';
import { asking, outputsOf, type Check } from './check.js';

/** The RDS PostgreSQL instance's status (available, backing-up, storage-full...). */
export const databaseStatus: Check = (input) => {
  const outputs = outputsOf(input.state, rdsPostgres);
  if (!outputs) return undefined;
  return asking(input, { id: 'database', title: 'PostgreSQL (RDS)' }, async () => {
    const rds = await input.aws.rds();
    try {
      const db = (await rds.describeDBInstances({ DBInstanceIdentifier: outputs.instanceId })).DBInstances?.[0];
      const status = db?.DBInstanceStatus ?? 'unknown';
      return {
        state: status === 'available' ? 'ok' : status === 'backing-up' || status === 'modifying' ? 'warn' : 'fail',
        text: `${outputs.instanceId}: ${status}`,
        data: { instanceId: outputs.instanceId, status },
      };
    } catch (err) {
      if (!isKind(err, 'not-found')) throw err;
      return { state: 'fail', text: `${outputs.instanceId}: not found`, data: { instanceId: outputs.instanceId, status: 'not-found' } };
    }
  });
};
