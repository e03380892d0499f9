/**
 * The few places GitLab's configuration differs by release. A version not known yet (a
 * placeholder before machine-images ran) counts as the newest: the renderers then show the
 * form the current release documents.
 */
export interface Version {
  major: number;
  minor: number;
}

/** 19.5.1, 19.5, 19.5.x (its newest patch), 19 or 19.x (its newest minor). */
const VERSION = /^(\d+)(?:\.(\d+|x)(?:\.(?:\d+|x))?)?$/;

/**
 * A version's major and minor. A major alone (`18`, `18.x`) stands for its newest minor, which
 * compares after every minor of that major: `render` without AWS shows a partial answer so, and
 * a PostgreSQL major means the newest minor RDS offers.
 */
export function parseVersion(version: string): Version | undefined {
  const match = VERSION.exec(version);
  if (!match) return undefined;
  const minor = match[2] === undefined || match[2] === 'x' ? Infinity : Number(match[2]);
  return { major: Number(match[1]), minor };
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

/**
 * The PostgreSQL each GitLab major runs on (gitlab-omnibus.md, "Versions and extensions"; GitLab's
 * "PostgreSQL requirements"): 19.x needs 17 (19 dropped 16, and omnibus' reconfigure only *warns*
 * about an older external database, so we refuse it), 18.x 16.5 up to 17.x, 17.x 14.14 up to 16.x.
 * `oldest` is the oldest PostgreSQL release, `newestMajor` the newest PostgreSQL major.
 */
export const POSTGRES_FOR_GITLAB: Readonly<Record<number, { oldest: Version; newestMajor: number }>> = {
  17: { oldest: { major: 14, minor: 14 }, newestMajor: 16 },
  18: { oldest: { major: 16, minor: 5 }, newestMajor: 17 },
  19: { oldest: { major: 17, minor: 0 }, newestMajor: 17 },
};

/** What GitLab `gitlabMajor` needs, in words: `PostgreSQL 17`, `PostgreSQL 16.5 or newer, up to 17.x`. */
export function postgresNeeded(gitlabMajor: number): string {
  const needs = POSTGRES_FOR_GITLAB[gitlabMajor];
  if (!needs) return 'a PostgreSQL version this installer does not know';
  const { oldest, newestMajor } = needs;
  if (oldest.major === newestMajor && oldest.minor === 0) return `PostgreSQL ${newestMajor}`;
  return `PostgreSQL ${oldest.major}.${oldest.minor} or newer, up to ${newestMajor}.x`;
}

/**
 * Whether PostgreSQL `postgres` (a major, `16`, meaning its newest minor, or exact, `16.4`) fits
 * GitLab `gitlabMajor`: 'fits', 'too old' or 'too new'. A major alone is judged by its major only
 * (its newest minor is what RDS will give; preflight judges that one once RDS has named it).
 */
export function postgresFit(gitlabMajor: number, postgres: string): 'fits' | 'too old' | 'too new' {
  const needs = POSTGRES_FOR_GITLAB[gitlabMajor];
  if (!needs) return 'fits';
  const major = Number(postgres.split('.')[0]);
  if (major > needs.newestMajor) return 'too new';
  if (major < needs.oldest.major) return 'too old';
  // The oldest major's early minors; a major alone counts as its newest minor.
  if (major === needs.oldest.major && !atLeast(postgres, needs.oldest.major, needs.oldest.minor)) return 'too old';
  return 'fits';
}

/** The GitLab majors of `majors` that PostgreSQL `postgres` fits. */
export function gitlabMajorsFor(postgres: string, majors: readonly number[]): number[] {
  return majors.filter((m) => postgresFit(m, postgres) === 'fits');
}

/**
 * Why PostgreSQL `postgres` cannot serve GitLab `gitlab` (`19`, `19.5`, `19.5.1`), and the fix in
 * the answers' own names, or undefined when it fits. `said` adds how each was decided
 * (`the newest 16 RDS offers`); `majors` are the GitLab majors the installer installs, for the
 * other way out (another GitLab release the PostgreSQL fits).
 */
export function postgresMismatch(
  postgres: string,
  gitlab: string,
  majors: readonly number[],
  said: { postgres?: string; gitlab?: string } = {},
): { problem: string; fix: string } | undefined {
  const major = Number(gitlab.split('.')[0]);
  const fit = postgresFit(major, postgres);
  if (fit === 'fits') return undefined;
  const needs = POSTGRES_FOR_GITLAB[major]!;
  const other = gitlabMajorsFor(postgres, majors).filter((m) => m !== major);
  const pg = `PostgreSQL ${postgres}${said.postgres ? ` (${said.postgres})` : ''}`;
  const gl = `GitLab ${gitlab}${said.gitlab ? ` (${said.gitlab})` : ''}`;
  return {
    problem: `${pg} is ${fit} for ${gl}: GitLab ${major} needs ${postgresNeeded(major)}`,
    fix:
      `set database.engineVersion to ${needs.newestMajor} (--db-engine-version ${needs.newestMajor}, its newest minor)` +
      other.map((m) => `, or gitlab.version to ${m} (--gitlab-version ${m})`).join(''),
  };
}
