import { defineCommand } from '../spec.js';

export const statusCommand = defineCommand<{ discover?: boolean; offline?: boolean }>({
  name: 'status',
  description: 'list the steps and the resources of a deployment, and its live health (targets, instances, database, cache, certificate)',
  examples: ['gitlab-aws status', 'gitlab-aws status --offline --json', 'gitlab-aws status --sandbox --discover --json'],
  options: [
    { flags: '--discover', description: 'list what AWS holds tagged with this deployment instead of the state file' },
    { flags: '--offline', description: 'show the state file only: no live health, no call to AWS' },
  ],
  handler: async () => (await import('./index.js')).status,
});
