import { defineCommand } from '../spec.js';

export const rootPasswordCommand = defineCommand({
  name: 'root-password',
  description: "print GitLab's root password (kept in SSM Parameter Store, shown only on request)",
  examples: ['gitlab-aws root-password --sandbox'],
  handler: async () => (await import('./index.js')).rootPassword,
});
