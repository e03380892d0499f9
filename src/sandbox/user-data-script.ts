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
  /** A cloud-config bootcmd removes the AMI's first-boot script before cloud-init would run it. */
  firstBootScriptPrevented: boolean;
  /** `sshd -t` runs before anything made /run/sshd, which a first boot of Ubuntu 24.04 lacks. */
  sshdCheckWithoutRunDir: boolean;
  /** Reads the keys an earlier reconfigure stored (get-path), and the path. */
  readsGenerated?: string;
  /** Stores the keys its reconfigure generated (put-many below the path read). */
  storesGenerated: boolean;
}

/** The contract's bake-prep lines (rails-base): what makes an image fit to be cloned. */
export interface BakePrep {
  staticHostKeys: boolean;
  firstBootScriptRemoved: boolean;
  autoMigrateTurnedOff: boolean;
  readyForImaging: boolean;
}

/**
 * What cloud-init finds in user-data: a MIME multi-part document's parts (a cloud-config, the
 * script), or the whole text as the script.
 */
export function userDataParts(text: string | undefined): { script: string; cloudConfig?: string } {
  const t = text ?? '';
  const boundary = /^Content-Type: multipart\/mixed; boundary="([^"]+)"/.exec(t)?.[1];
  if (!boundary) return { script: t };
  const parts = t.split(`--${boundary}`).slice(1, -1);
  const body = (type: string) => {
    const part = parts.find((p) => p.includes(`Content-Type: ${type}`));
    return part === undefined ? undefined : part.slice(part.indexOf('\n\n') + 2);
  };
  return { script: body('text/x-shellscript') ?? '', cloudConfig: body('text/cloud-config') };
}

/** The bootcmd entries of a cloud-config written in YAML's flow style (JSON), as ours are. */
function bootcmd(cloudConfig: string | undefined): string[][] {
  try {
    const parsed = JSON.parse((cloudConfig ?? '').replace(/^#cloud-config\n/, '')) as { bootcmd?: string[][] };
    return parsed.bootcmd ?? [];
  } catch {
    return [];
  }
}

export function parseUserData(userData: string | undefined): BootScript {
  const { script: text, cloudConfig } = userDataParts(userData);
  const lines = text.split('\n');
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
  const install = /apt-get install -y '?(gitlab-(?:ee|ce)=[^\s']+)/.exec(text)?.[1];
  const sshdCheck = lines.findIndex((l) => l.trim() === 'sshd -t');
  const runDir = lines.findIndex((l) => /^\s*(install -d( -m \d+)?|mkdir -p) \/run\/sshd\s*$/.test(l));
  const generatedPath = /gitlab-aws-ssm', 'get-path', '([^']+)'/.exec(text)?.[1];
  return {
    kind,
    fetched,
    gitlabRb,
    waitsFor,
    ...(install ? { installsPackage: install } : {}),
    reconfigures: lines.some((l) => /^\s*(gitlab-ctl reconfigure|reconfigure)\b/.test(l)),
    prep: bakePrep(text),
    firstBootScriptPrevented: bootcmd(cloudConfig).some((c) => c.join(' ') === 'rm -f /var/lib/cloud/scripts/per-instance/gitlab'),
    sshdCheckWithoutRunDir: sshdCheck >= 0 && (runDir < 0 || runDir > sshdCheck),
    ...(generatedPath ? { readsGenerated: generatedPath } : {}),
    storesGenerated: /\/usr\/local\/sbin\/gitlab-aws-ssm put-many\b/.test(text),
  };
}

export function bakePrep(userData: string | undefined): BakePrep {
  const t = userDataParts(userData).script;
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
