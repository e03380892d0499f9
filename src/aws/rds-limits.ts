/**
 * RDS for PostgreSQL's storage rules (CreateDBInstance, "Amazon RDS DB instance storage"): one
 * table, read by the config check (so a bad answer is refused before anything is made) and by
 * the sandbox (which refuses what AWS would).
 */
export const RDS_STORAGE = {
  io1: { minGiB: 100, maxGiB: 65_536, minIops: 1_000, maxIops: 256_000, minIopsPerGiB: 0.5, maxIopsPerGiB: 50 },
  io2: { minGiB: 100, maxGiB: 65_536, minIops: 1_000, maxIops: 256_000, minIopsPerGiB: 0.5, maxIopsPerGiB: 1_000 },
  /** gp3 below 400 GiB has a 3000 IOPS baseline that cannot be changed. */
  gp3: { minGiB: 20, maxGiB: 65_536, minIops: 12_000, maxIops: 64_000, minIopsPerGiB: 0.5, maxIopsPerGiB: 500, iopsFromGiB: 400 },
  gp2: { minGiB: 20, maxGiB: 65_536 },
} as const;
export type RdsStorageType = keyof typeof RDS_STORAGE;
export const RDS_STORAGE_TYPES = Object.keys(RDS_STORAGE) as [RdsStorageType, ...RdsStorageType[]];

/** Why RDS would refuse this storage, in its terms; undefined when it would not. */
export function rdsStorageProblem(type: string, gib: number, iops: number | undefined): string | undefined {
  const rules = RDS_STORAGE[type as RdsStorageType] as
    | {
        minGiB: number;
        maxGiB: number;
        minIops?: number;
        maxIops?: number;
        minIopsPerGiB?: number;
        maxIopsPerGiB?: number;
        iopsFromGiB?: number;
      }
    | undefined;
  if (!rules) return `storage type '${type}' is not one of ${RDS_STORAGE_TYPES.join(', ')}`;
  if (!Number.isInteger(gib) || gib < rules.minGiB || gib > rules.maxGiB) {
    return `${type} storage must be ${rules.minGiB}-${rules.maxGiB} GiB, not ${gib}`;
  }
  if (rules.minIops === undefined) return iops === undefined ? undefined : `${type} storage takes no IOPS setting`;
  if (iops === undefined) return type.startsWith('io') ? `${type} storage needs an IOPS setting` : undefined;
  if (rules.iopsFromGiB !== undefined && gib < rules.iopsFromGiB) {
    return `${type} storage below ${rules.iopsFromGiB} GiB has a fixed 3000 IOPS baseline: leave IOPS unset`;
  }
  if (!Number.isInteger(iops) || iops < rules.minIops || iops > rules.maxIops!) {
    return `${type} IOPS must be ${rules.minIops}-${rules.maxIops}, not ${iops}`;
  }
  const ratio = iops / gib;
  if (ratio < rules.minIopsPerGiB! || ratio > rules.maxIopsPerGiB!) {
    return `${type} IOPS must be ${rules.minIopsPerGiB}-${rules.maxIopsPerGiB} times the storage in GiB (${iops} IOPS on ${gib} GiB is ${+ratio.toFixed(2)})`;
  }
  return undefined;
}

/** Burstable classes (db.t3, db.t4g, ...): the guide advises against them for GitLab. */
export function isBurstableDbClass(instanceClass: string): boolean {
  return /^db\.t\d/.test(instanceClass);
}

/** The classes RDS for PostgreSQL offers (a subset: the families an operator would pick for GitLab). */
export const RDS_POSTGRES_CLASS =
  /^db\.(t3|t4g|m5|m5d|m6g|m6gd|m6i|m6id|m7g|m7i|r5|r5d|r6g|r6gd|r6i|r6id|r7g|r7i)\.(micro|small|medium|large|\d*xlarge)$/;
