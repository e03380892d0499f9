import { loadSharedConfigFiles } from '@smithy/shared-ini-file-loader';

/**
 * The region, resolved once for the whole run: --region, then AWS_REGION, then the profile's
 * region (the SDK does not read AWS_DEFAULT_REGION; we follow the SDK so both agree).
 */
export async function resolveRegion(flag: string | undefined, profile: string | undefined): Promise<string | undefined> {
  if (flag) return flag;
  if (process.env.AWS_REGION) return process.env.AWS_REGION;
  const name = profile ?? process.env.AWS_PROFILE ?? 'default';
  try {
    const { configFile } = await loadSharedConfigFiles();
    return configFile[name]?.region;
  } catch {
    return undefined;
  }
}
