/**
 * How long AWS takes, in minutes: THE table (shared/reference/aws-durations.md), kept in one place.
 * The sandbox moves resources through their states on these timings, so a sandbox run shows the
 * real shape of an install (which steps dominate, what overlaps), compressed to seconds.
 */
export const AWS_MINUTES = {
  iam: { create: 0.1, delete: 0.1, /** EC2 can use a new instance profile only this much later */ propagation: 0.2 },
  s3Bucket: { create: 0.05, delete: 0.05 },
  ssmParameter: { create: 0.02, delete: 0.02 },
  /** VPC, subnet, internet gateway, route table, route, security group, rule: each. */
  network: { create: 0.05, delete: 0.05 },
  elasticIp: { create: 0.02, delete: 0.02, /** release fails this long after its NAT gateway goes */ releaseBlockedAfterNat: 0.5 },
  natGateway: { create: 2, delete: 1 },
  networkLoadBalancer: { create: 3, delete: 1, /** its ENIs linger this long after deletion */ eniLinger: 2 },
  targetGroupOrListener: { create: 0.05, delete: 0.05 },
  acmCertificate: { create: 3, delete: 0.1 },
  route53Change: { create: 1, delete: 1 },
  rdsPostgres: { create: 15, delete: 8 },
  elasticacheRedis: { create: 12, delete: 6 },
  ec2Instance: { create: 0.5, delete: 1 },
  gitalyConfigure: { create: 6 },
  gitlabBaseConfigure: { create: 9 },
  ami: { create: 8, delete: 0.1 },
  launchTemplate: { create: 0.02, delete: 0.02 },
  autoScalingGroup: { create: 6, delete: 3 },
  scalingPolicyOrAlarm: { create: 0.02, delete: 0.02 },
} as const;

export const MINUTE = 60_000;

/** Default compression: one AWS minute passes in 10 ms, so a 40-minute install takes under a second of waiting. */
export const DEFAULT_SPEED = 6_000;

/** Every API call takes at least this long on the sandbox clock (a typical round trip). */
export const API_ROUND_TRIP_MS = 150;
