import { defineCommand } from '../spec.js';

export const statusCommand = defineCommand<{ discover?: boolean }>({
  name: 'status',
  description: 'list the steps and the resources of a deployment',
  examples: ['gitlab-aws status --json', 'gitlab-aws status --sandbox --discover --json'],
  options: [{ flags: '--discover', description: 'list what AWS holds tagged with this deployment instead of the state file' }],
  handler: async () => (await import('./index.js')).status,
});
