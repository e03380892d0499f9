/**
 * THE list of AWS services the program talks to, each with a loader that imports its SDK client
 * package on first use: importing every client up front costs about a second and 100 MiB, and
 * most commands touch only a few services. The session's client getters (clients.ts) and the
 * sandbox's plug-ins (sandbox/services.ts) are both typed against these names, so a service with
 * a client but no sandbox module, or the other way round, does not compile.
 */
export const SERVICE_LOADERS = {
  ec2: async () => (await import('@aws-sdk/client-ec2')).EC2,
  iam: async () => (await import('@aws-sdk/client-iam')).IAM,
  sts: async () => (await import('@aws-sdk/client-sts')).STS,
  ssm: async () => (await import('@aws-sdk/client-ssm')).SSM,
  s3: async () => (await import('@aws-sdk/client-s3')).S3,
  route53: async () => (await import('@aws-sdk/client-route-53')).Route53,
  acm: async () => (await import('@aws-sdk/client-acm')).ACM,
  rds: async () => (await import('@aws-sdk/client-rds')).RDS,
  elasticache: async () => (await import('@aws-sdk/client-elasticache')).ElastiCache,
  elbv2: async () => (await import('@aws-sdk/client-elastic-load-balancing-v2')).ElasticLoadBalancingV2,
  tagging: async () => (await import('@aws-sdk/client-resource-groups-tagging-api')).ResourceGroupsTaggingAPI,
  autoscaling: async () => (await import('@aws-sdk/client-auto-scaling')).AutoScaling,
  cloudwatch: async () => (await import('@aws-sdk/client-cloudwatch')).CloudWatch,
  /** Preflight: how many VPCs, Elastic IPs and vCPUs the account may have in the region. */
  servicequotas: async () => (await import('@aws-sdk/client-service-quotas')).ServiceQuotas,
  /** The plan's monthly cost: AWS's current prices (the Price List API lives in us-east-1). */
  pricing: async () => (await import('@aws-sdk/client-pricing')).Pricing,
};

export type ServiceName = keyof typeof SERVICE_LOADERS;

/**
 * Settings a service's client needs beyond the session's. S3 follows a bucket to its region (a
 * bucket named by a deployment in another region answers PermanentRedirect otherwise, and the
 * SDK does not follow by default). A `region` here wins over the session's: the Price List API
 * is answered in us-east-1 (also eu-central-1 and ap-south-1) whatever region is priced. The plan
 * asks it under a deadline and falls back to its own table, so one retry is enough (the session's
 * ten would outlast the deadline).
 */
export const SERVICE_CLIENT_CONFIG: Partial<Record<ServiceName, Record<string, unknown>>> = {
  s3: { followRegionRedirects: true },
  pricing: { region: 'us-east-1', maxAttempts: 2 },
};

/** The aggregated SDK client of each service (`ec2.createVpc(...)`), derived from its loader. */
export type ServiceClients = { [K in ServiceName]: InstanceType<Awaited<ReturnType<(typeof SERVICE_LOADERS)[K]>>> };

export const SERVICE_NAMES = Object.keys(SERVICE_LOADERS) as ServiceName[];
