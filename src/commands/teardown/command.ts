import { defineCommand } from '../spec.js';

export const teardownCommand = defineCommand<{ deleteData?: boolean; discover?: boolean; skipFinalSnapshot?: boolean }>({
  name: 'teardown',
  description: 'delete everything this deployment created, dependents first',
  examples: ['gitlab-aws teardown --sandbox --yes', 'gitlab-aws teardown --discover --region eu-west-1 --yes --delete-data'],
  options: [
    { flags: '--delete-data', description: 'also delete S3 buckets that hold data (every object version); without it they are kept' },
    {
      flags: '--skip-final-snapshot',
      description: 'delete the RDS database without the final snapshot it otherwise keeps (its data is then gone for good)',
    },
    {
      flags: '--discover',
      description: 'find what AWS holds tagged with this deployment in the region, list it, and delete it (no state file needed)',
    },
  ],
  handler: async () => (await import('./index.js')).teardown,
});
