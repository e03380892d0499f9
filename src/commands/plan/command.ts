import { defineCommand } from '../spec.js';

export const planCommand = defineCommand({
  name: 'plan',
  description: "show what an install would create, by the guide's sections, how long it takes and what it costs a month",
  examples: ['gitlab-aws plan --config answers.json'],
  answers: true,
  handler: async () => (await import('./index.js')).plan,
});
