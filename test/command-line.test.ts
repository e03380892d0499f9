import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandLine } from '../src/commands/options.js';

const defaults = { deployment: 'gitlab', stateDir: './.gitlab-aws', sandbox: false };

/** What a POSIX shell hands the program when the line is pasted (gitlab-aws itself dropped). */
function asShellReadsIt(line: string): string[] {
  const script = `shift; for a in "$@"; do printf '%s\\0' "$a"; done`;
  const out = execFileSync('sh', ['-c', `set -- ${line}; ${script}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('the command lines the CLI prints', () => {
  it('leave out what the defaults already say', () => {
    expect(commandLine(defaults, 'resume')).toBe('gitlab-aws resume');
  });

  it('carry every option that locates the deployment, the region only where asked', () => {
    const options = { deployment: 'poc', stateDir: '/srv/state', sandbox: true, profile: 'admin' };
    expect(commandLine(options, 'teardown', {}, '--delete-data')).toBe(
      'gitlab-aws teardown --delete-data --deployment poc --state-dir /srv/state --profile admin --sandbox',
    );
    expect(commandLine(options, 'status', { region: 'eu-west-1' }, '--discover')).toBe(
      'gitlab-aws status --discover --deployment poc --state-dir /srv/state --region eu-west-1 --profile admin --sandbox',
    );
  });

  it('quote a state directory with spaces or quotes so a shell reads it back whole', () => {
    const stateDir = "/home/o'brien/my state";
    const line = commandLine({ ...defaults, stateDir }, 'status');
    expect(asShellReadsIt(line)).toEqual(['status', '--state-dir', stateDir]);
  });
});
