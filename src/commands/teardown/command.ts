import { defineCommand } from '../spec.js';

export const teardownCommand = defineCommand<{ deleteData?: boolean }>({
  name: 'teardown',
  description: 'delete everything this deployment created, dependents first',
  examples: ['gitlab-aws teardown --sandbox --yes'],
  options: [
    { flags: '--delete-data', description: 'also delete S3 buckets that hold data (every object version); without it they are kept' },
  ],
  handler: async () => (await import('./index.js')).teardown,
});
