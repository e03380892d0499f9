import { defineCommand } from '../spec.js';

export const planCommand = defineCommand({
  name: 'plan',
  description: 'show what an install would create, in which order and what runs side by side',
  examples: ['gitlab-aws plan --config answers.json'],
  answers: true,
  handler: async () => (await import('./index.js')).plan,
});
