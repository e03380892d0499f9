import { GUIDE_STEPS } from './index.js';

/**
 * THE table of the guide's sections ("Installing a GitLab POC on AWS", its `##` headings, in the
 * guide's order) and the steps that do what each section says. The plan groups what it will create
 * by these, so the operator can hold the plan against the guide. Every step is in exactly one
 * section (test/plan.test.ts holds that); where the guide spreads one of our steps over several
 * sections, the step sits where the guide first asks for what it makes.
 */
export const GUIDE_SECTIONS: ReadonlyArray<{ title: string; steps: readonly string[] }> = [
  { title: 'Create an IAM EC2 instance role and profile', steps: ['iam-role'] },
  {
    title: 'Configuring the network',
    // The guide makes each security group in the section that uses it; we make them all with the
    // VPC they belong to, before anything that joins them.
    steps: ['vpc', 'subnets', 'internet-gateway', 'nat-gateways', 'public-route-table', 'private-route-tables', 'security-groups'],
  },
  // "Configure DNS for Load Balancer" is part of this section, and so is the TLS listener's certificate.
  { title: 'Load Balancer', steps: ['hosted-zone', 'tls-certificate', 'load-balancer', 'dns-record'] },
  { title: 'PostgreSQL with RDS', steps: ['rds-postgres'] },
  { title: 'Redis with ElastiCache', steps: ['elasticache'] },
  // The bastions are where the guide first picks an AMI (the latest Ubuntu LTS) and a key pair.
  { title: 'Setting up Bastion Hosts', steps: ['machine-images', 'key-pair', 'bastion-hosts'] },
  {
    title: 'Install GitLab and create custom AMI',
    // The buckets ("Amazon S3 object storage"), Gitaly ("Set up Gitaly") and the passwords gitlab.rb
    // holds ("Configure GitLab to connect to PostgreSQL and Redis") are this section's subsections;
    // they are made early because the database, the cache and Gitaly need them.
    steps: ['s3-buckets', 'secrets', 'gitaly', 'base-instance', 'gitlab-ami'],
  },
  {
    title: 'Deploy GitLab inside an auto scaling group',
    steps: ['launch-template', 'auto-scaling-group', 'scaling-policies', 'retire-base-instance'],
  },
];

/** The guide as the plan reads it: the steps and the sections they are grouped by. */
export const GUIDE = { steps: GUIDE_STEPS, sections: GUIDE_SECTIONS };
