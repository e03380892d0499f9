import { defineCommand } from '../spec.js';

export const reportCommand = defineCommand({
  name: 'report',
  description: "draw a past install's or teardown's timeline again as an SVG, from the deployment's log",
  examples: [
    'gitlab-aws report                      # the last run',
    'gitlab-aws report --list               # every run the log holds',
    'gitlab-aws report --run 1 --out first-install.svg',
  ],
  options: [
    { flags: '--run <n>', description: 'which run, as --list numbers them (default: the last)' },
    { flags: '--list', description: 'list the runs in the log, with their command, time and outcome' },
    { flags: '--out <file>', description: "where to write the SVG (default: the state directory's <deployment>-<operation>-report.svg)" },
  ],
  handler: async () => (await import('./index.js')).report,
});
