import type { ElastiCache } from '@aws-sdk/client-elasticache';
import type { InstallConfig } from '../config/schema.js';
import { CACHE_ENGINE_VERSIONS } from '../steps/elasticache.js';
import type { ToBuild } from './building.js';
import type { Refusal } from './refusal.js';

/**
 * The cache engine and version the install creates (Valkey 7.2 or Redis OSS 7.1) are offered in
 * the region, until the cache is built. The node type is checked by its form only (offline):
 * ElastiCache has no API listing the node types it sells on demand in a region.
 */
export async function cacheOffered(elasticache: ElastiCache, config: InstallConfig, left: ToBuild): Promise<Refusal | undefined> {
  if (!left.anyOf('elasticache')) return undefined;
  const { engine } = config.cache;
  const version = CACHE_ENGINE_VERSIONS[engine];
  const found = await elasticache.describeCacheEngineVersions({ Engine: engine, EngineVersion: version });
  if (found.CacheEngineVersions?.length) return undefined;
  const other = engine === 'valkey' ? 'redis' : 'valkey';
  return {
    message: `ElastiCache offers no ${engine} ${version} in ${config.region}`,
    fix: `set cache.engine to ${other}, or choose another --region`,
  };
}
