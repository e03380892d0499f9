import { defineCommand } from '../spec.js';

export const renderCommand = defineCommand({
  name: 'render',
  description: 'print the gitlab.rb or user-data install gives a node, for review (secrets appear as their SSM parameter names)',
  arguments: [{ name: 'what', description: 'gitlab-rb or user-data' }],
  examples: [
    'gitlab-aws render gitlab-rb --node rails --sandbox',
    'gitlab-aws render user-data --node rails --role clone',
    'gitlab-aws render user-data --node bastion --zone b',
  ],
  options: [
    { flags: '--node <node>', description: 'which node: rails or gitaly (user-data also: bastion)' },
    {
      flags: '--role <role>',
      description: "rails only: 'base', the instance the image is baked from (the default), or 'clone', what the group launches",
    },
    { flags: '--zone <zone>', description: "bastion only: host 'a' (the default) or 'b'" },
  ],
  answers: true,
  handler: async () => (await import('./index.js')).render,
});
