import type { ServiceName } from '../aws/services.js';
import type { OperationContext, SandboxService, ServiceOperations } from './core.js';
import { acmService } from './acm.js';
import { autoscalingService } from './autoscaling.js';
import { cloudwatchService } from './cloudwatch.js';
import { elasticacheService } from './elasticache.js';
import { elbv2Service } from './elbv2.js';
import { ec2Service } from './ec2-service.js';
import { iamService } from './iam.js';
import { rdsService } from './rds.js';
import { route53Service } from './route53.js';
import { s3Service } from './s3.js';
import { ssmService } from './ssm.js';
import { stsService } from './sts.js';
import { taggingService } from './tagging.js';
import { serviceQuotasService } from './service-quotas.js';
import { pricingService } from './pricing.js';

/**
 * THE registry of the sandbox's services: one line per plug-in. It must name exactly the services
 * the session has clients for (src/aws/services.ts); a missing or extra line does not compile.
 */
export const SANDBOX_SERVICES = {
  ec2: ec2Service,
  iam: iamService,
  sts: stsService,
  ssm: ssmService,
  s3: s3Service,
  route53: route53Service,
  acm: acmService,
  rds: rdsService,
  elasticache: elasticacheService,
  elbv2: elbv2Service,
  tagging: taggingService,
  autoscaling: autoscalingService,
  cloudwatch: cloudwatchService,
  servicequotas: serviceQuotasService,
  pricing: pricingService,
} satisfies { [K in ServiceName]: SandboxService<unknown, K> };

type Registry = typeof SANDBOX_SERVICES;

/** Each service's part of the world, typed by its plug-in. */
export type WorldSlices = { [K in ServiceName]: Registry[K] extends SandboxService<infer Slice, K> ? Slice : never };

/** The plug-in answering a call, as the sandbox's one entry point sees it: any operation by name. */
export function sandboxService(name: ServiceName): { operations: ServiceOperations; latency: Record<string, number> } {
  return SANDBOX_SERVICES[name] as { operations: ServiceOperations; latency: Record<string, number> };
}

export function emptySlices(): WorldSlices {
  return Object.fromEntries(Object.entries(SANDBOX_SERVICES).map(([name, service]) => [name, service.empty()])) as WorldSlices;
}

/** Brings every service's own doings up to the call's time, before the call is answered. */
export function catchUp(ctx: OperationContext): void {
  for (const service of Object.values(SANDBOX_SERVICES) as Array<{ catchUp?: (ctx: OperationContext) => void }>) service.catchUp?.(ctx);
}
