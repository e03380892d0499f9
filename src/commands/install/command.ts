import { defineCommand } from '../spec.js';

export const installCommand = defineCommand({
  name: 'install',
  description: 'show the plan, then build every step of the guide (resumes if a state file exists)',
  examples: [
    'gitlab-aws install --sandbox --yes          # rehearse end to end, no AWS account',
    'gitlab-aws install --region us-west-2 --profile admin',
  ],
  answers: true,
  handler: async () => (await import('./index.js')).install({ resume: false }),
});

export const resumeCommand = defineCommand({
  name: 'resume',
  description: 'continue an install that failed or was interrupted, from its state file',
  examples: ['gitlab-aws resume --deployment gitlab'],
  handler: async () => (await import('./index.js')).install({ resume: true }),
});
