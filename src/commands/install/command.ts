import { answersHelp } from '../../config/answers-reference.js';
import { defineCommand } from '../spec.js';

export const installCommand = defineCommand({
  name: 'install',
  description: 'show the plan, then build every step of the guide (resumes if a state file exists)',
  examples: [
    'gitlab-aws install --sandbox --yes          # rehearse end to end, no AWS account',
    'gitlab-aws install --region us-west-2 --profile admin   # the wizard asks every answer',
    'gitlab-aws install --config answers.json --yes     # asks nothing (CI)',
    'gitlab-aws install --save-config answers.json      # keep the answers to repeat the install',
  ],
  answers: true,
  options: [
    {
      flags: '--save-config <file>',
      description: 'write the complete answers (a --config file) once they are given and checked, before anything is created',
    },
  ],
  helpAfter: answersHelp,
  handler: async () => (await import('./index.js')).install({ resume: false }),
});

export const resumeCommand = defineCommand({
  name: 'resume',
  description: 'continue an install that failed or was interrupted, from its state file',
  examples: ['gitlab-aws resume --deployment gitlab'],
  handler: async () => (await import('./index.js')).install({ resume: true }),
});
