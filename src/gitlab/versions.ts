/**
 * The few places GitLab's configuration differs by release. A version not known yet (a
 * placeholder before machine-images ran) counts as the newest: the renderers then show the
 * form the current release documents.
 */
export interface Version {
  major: number;
  minor: number;
}

const EXACT = /^(\d+)\.(\d+)(?:\.\d+)?$/;

export function parseVersion(version: string): Version | undefined {
  const match = EXACT.exec(version);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** `version` is `major.minor` or later; true for a version not known yet. */
export function atLeast(version: string, major: number, minor: number): boolean {
  const v = parseVersion(version);
  if (!v) return true;
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** What differs, in one table, each with where it was found. */
export function versionFeatures(version: string) {
  return {
    /**
     * The nginx keys moved under gitlab_rails['nginx'] in 19.2 (omnibus commit fb2e89f52), but
     * gitlab.rb.template documents them only from 19.3.0+ee.0 (at 19.2.0+ee.0 it still shows
     * `# nginx['listen_port'] = nil`, `nginx['proxy_protocol']`, `nginx['real_ip_trusted_addresses']`;
     * at 19.3.0+ee.0 `# gitlab_rails['nginx']['listen_port'] = nil` and the rest likewise).
     */
    nginxUnderRails: atLeast(version, 19, 3),
    /** roles(['gitaly_role']) turns everything but Gitaly off (17.6+). */
    gitalyRole: atLeast(version, 17, 6),
    /** amcheck joined pg_trgm and btree_gist as a required extension in 18.4. */
    amcheck: atLeast(version, 18, 4),
    /**
     * The object type agent_plan_content (19.1+): its bucket is named only where the release knows
     * the type; the bucket exists whatever the release, ready for an upgrade.
     */
    agentPlanContent: atLeast(version, 19, 1),
    /** Incremental CI logging became the application setting ci_job_live_trace_enabled in 17.11. */
    liveTraceSetting: atLeast(version, 17, 11),
  };
}
