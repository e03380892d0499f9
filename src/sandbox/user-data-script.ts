import { atLeast } from '../gitlab/versions.js';

/**
 * A user-data script as the boot simulator reads it (docs/compute-contract.md): the node kind, the
 * fetch_secret lines, the gitlab.rb heredoc and its settings, wait_for_port, the bake-prep lines.
 * Only the exact forms the contract gives count, as a renderer drifting from them must be noticed.
 */

export type NodeKind = 'bastion' | 'gitaly' | 'rails-base' | 'rails-clone';

export const SECRETS_DIR = '/etc/gitlab/gitlab-aws-secrets/';

/** What a user-data script says, as far as booting it goes. */
export interface BootScript {
  kind?: NodeKind;
  /** Secret file name -> the SSM parameter fetched into it, in the script's order. */
  fetched: Array<{ parameter: string; file: string }>;
  gitlabRb?: string;
  waitsFor: Array<{ host: string; port: number }>;
  installsPackage?: string;
  reconfigures: boolean;
  prep: BakePrep;
}

/** The contract's bake-prep lines (rails-base): what makes an image fit to be cloned. */
export interface BakePrep {
  staticHostKeys: boolean;
  firstBootScriptRemoved: boolean;
  autoMigrateTurnedOff: boolean;
  readyForImaging: boolean;
}

export function parseUserData(text: string | undefined): BootScript {
  const lines = (text ?? '').split('\n');
  const kind = /^# gitlab-aws node: (bastion|gitaly|rails-base|rails-clone)\s*$/.exec(lines[1] ?? '')?.[1] as NodeKind | undefined;
  const fetched: BootScript['fetched'] = [];
  const waitsFor: BootScript['waitsFor'] = [];
  for (const line of lines) {
    const fetch = /^\s*fetch_secret '([^']+)' '\/etc\/gitlab\/gitlab-aws-secrets\/([^']+)'\s*$/.exec(line);
    if (fetch) fetched.push({ parameter: fetch[1]!, file: fetch[2]! });
    const wait = /^\s*wait_for_port '([^']+)' (\d+)\s*$/.exec(line);
    if (wait) waitsFor.push({ host: wait[1]!, port: Number(wait[2]) });
  }
  const start = lines.findIndex((l) => l.trim() === "cat > /etc/gitlab/gitlab.rb <<'GITLAB_RB'");
  const end = start >= 0 ? lines.findIndex((l, i) => i > start && l === 'GITLAB_RB') : -1;
  const gitlabRb = start >= 0 && end > start ? lines.slice(start + 1, end).join('\n') : undefined;
  const install = /apt-get install -y (gitlab-(?:ee|ce)=\S+)/.exec(text ?? '')?.[1];
  return {
    kind,
    fetched,
    gitlabRb,
    waitsFor,
    ...(install ? { installsPackage: install } : {}),
    reconfigures: lines.some((l) => /^\s*gitlab-ctl reconfigure\b/.test(l)),
    prep: bakePrep(text),
  };
}

export function bakePrep(text: string | undefined): BakePrep {
  const t = text ?? '';
  return {
    staticHostKeys: /^HostKey \/etc\/ssh_static\/ssh_host_\w+_key$/m.test(t) || /HostKey \/etc\/ssh_static\/ssh_host_/.test(t),
    firstBootScriptRemoved: t.split('\n').some((l) => l.trim() === 'rm -f /var/lib/cloud/scripts/per-instance/gitlab'),
    autoMigrateTurnedOff: t.includes(
      `sed -i "s/^gitlab_rails\\['auto_migrate'\\] = true$/gitlab_rails['auto_migrate'] = false/" /etc/gitlab/gitlab.rb`,
    ),
    readyForImaging: t.split('\n').some((l) => l.trim() === "echo 'gitlab-aws: ready for imaging'"),
  };
}

/** gitlab.rb's settings in GitLab's one-per-line form: `key = 'text'`, `= true`, `= File.read('...').strip`. */
export class Settings {
  constructor(private readonly rb: string) {}
  private raw(key: string): string | undefined {
    const escaped = key.replace(/[[\]().*+?^$|\\]/g, '\\$&');
    return new RegExp(`^\\s*${escaped}\\s*=\\s*(.+?)\\s*$`, 'm').exec(this.rb)?.[1];
  }
  text(key: string): string | undefined {
    return /^'([^']*)'$/.exec(this.raw(key) ?? '')?.[1];
  }
  flag(key: string): boolean | undefined {
    const v = this.raw(key);
    return v === 'true' ? true : v === 'false' ? false : undefined;
  }
  secretFile(key: string): string | undefined {
    return secretFileIn(this.raw(key) ?? '');
  }
  list(key: string): string[] | undefined {
    const v = /^\[(.*)\]$/.exec(this.raw(key) ?? '')?.[1];
    return v === undefined ? undefined : [...v.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
  }
  /** Every secret file gitlab.rb reads: each must have been fetched, or the reconfigure cannot load it. */
  secretFiles(): string[] {
    return [...this.rb.matchAll(/File\.read\('\/etc\/gitlab\/gitlab-aws-secrets\/([^']+)'\)/g)].map((m) => m[1]!);
  }
  match(re: RegExp): string | undefined {
    return re.exec(this.rb)?.[1];
  }
}

function secretFileIn(value: string): string | undefined {
  return /File\.read\('\/etc\/gitlab\/gitlab-aws-secrets\/([^']+)'\)/.exec(value)?.[1];
}

/** nginx settings moved under gitlab_rails['nginx'] in 19.2; older releases read only the old form. */
export function nginxSetting(s: Settings, version: string | undefined, key: string): boolean | undefined {
  const old = s.flag(`nginx['${key}']`);
  const moved = s.flag(`gitlab_rails['nginx']['${key}']`);
  return version !== undefined && atLeast(version, 19, 2) ? (moved ?? old) : old;
}
