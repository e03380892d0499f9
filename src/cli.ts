import { Command, CommanderError } from 'commander';
import { EXIT, ExitError } from './errors.js';
import { explain } from './aws/errors.js';
import { processIo, type Io } from './ui/io.js';
import type { IoHost } from './ui/host.js';
import { chooseHost } from './ui/choose-host.js';
import type { GlobalOptions } from './commands/options.js';
import { ANSWER_OPTIONS, type CommandSpec } from './commands/spec.js';
import { installCommand, resumeCommand } from './commands/install/command.js';
import { teardownCommand } from './commands/teardown/command.js';
import { statusCommand } from './commands/status/command.js';
import { rootPasswordCommand } from './commands/root-password/command.js';
import { planCommand } from './commands/plan/command.js';
import { renderCommand } from './commands/render/command.js';
import { reportCommand } from './commands/report/command.js';
import { VERSION } from './version.js';

const COMMANDS: CommandSpec<Record<string, unknown>>[] = [
  installCommand,
  resumeCommand,
  teardownCommand,
  statusCommand,
  rootPasswordCommand,
  planCommand,
  renderCommand,
  reportCommand,
];

/**
 * Commander wiring only: the commands (each from its own spec), the global options, and the exit
 * codes. A handler is imported when its command runs, so `--help` stays instant. `inject` is a
 * test's terminal (an Io; the host follows the flags) or a host outright (a recorder).
 */
export async function main(argv: string[], inject?: Io | IoHost, signal?: AbortSignal): Promise<number> {
  const injectedHost = inject && 'notify' in inject ? inject : undefined;
  const injectedIo = inject && !('notify' in inject) ? inject : undefined;
  const interrupt = new AbortController();
  signal?.addEventListener('abort', () => interrupt.abort(signal.reason), { once: true });
  // Until the options are parsed, a host from what argv plainly says (commander's own errors use it).
  const hostFor = (flags: Pick<GlobalOptions, 'json' | 'yes' | 'verbose' | 'color'>): IoHost =>
    injectedHost ?? chooseHost(injectedIo ?? processIo(flags.color), { ...flags, signal: interrupt.signal });
  let host = hostFor({ json: argv.includes('--json'), yes: false, verbose: false, color: !argv.includes('--no-color') });
  let exitCode: number = EXIT.ok;
  // What the last-resort report needs of the options (the profile, --verbose), once parsed.
  let parsed: Pick<GlobalOptions, 'profile' | 'verbose'> = { verbose: argv.includes('--verbose') };
  // What a command needs done if the operator quits at once (the lock, the continue line).
  const lastWords = new Set<() => void>();
  const atQuit = (last: () => void) => {
    lastWords.add(last);
    return () => void lastWords.delete(last);
  };

  const program = new Command('gitlab-aws')
    .description('GitLab\'s "Installing a GitLab POC on AWS" guide as one command: plan, install, resume, status, teardown.')
    .version(VERSION)
    .option('--deployment <name>', 'name of this installation; prefixes every resource name', 'gitlab')
    .option('--region <region>', "AWS region (default: AWS_REGION, then your profile's region)")
    .option('--profile <profile>', 'AWS profile to use (SSO, assume-role and MFA profiles work)')
    .option('--state-dir <dir>', 'where state files are kept', './.gitlab-aws')
    .option('--sandbox', 'rehearse against an in-memory AWS; no account needed', false)
    .option(
      '--config <file>',
      'JSON file of answers (every key: gitlab-aws install --help; --save-config writes one); plan --json output works too',
    )
    .option('-y, --yes', "answer every question with its default (and 'yes' to the confirmation)", false)
    .option('--json', 'machine-readable output (NDJSON events while running)', false)
    .option('--verbose', 'show every wait and every resource as it is recorded', false)
    .option('--no-color', 'no colours in the output')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => host.notify({ level: 'result', code: 'usage', text: text.replace(/\n$/, '') }),
      writeErr: (text) => host.notify({ level: 'error', code: 'usage.error', text: text.replace(/\n$/, '') }),
    })
    .showHelpAfterError('(run with --help for usage)');

  for (const spec of COMMANDS) {
    const command = program.command(spec.name).description(spec.description);
    for (const argument of spec.arguments ?? []) command.argument(`[${argument.name}]`, argument.description);
    for (const option of [...(spec.answers ? ANSWER_OPTIONS : []), ...(spec.options ?? [])])
      command.option(option.flags, option.description);
    const examples = spec.examples.map((e) => `  $ ${e}`).join('\n');
    command.addHelpText('after', `\n${spec.examples.length > 1 ? 'Examples' : 'Example'}:\n${examples}`);
    if (spec.helpAfter) command.addHelpText('after', () => `\n${spec.helpAfter!()}`);
    command.action(async (...args: unknown[]) => {
      // Commander passes the positional arguments first, then the options, then the command.
      const self = args.at(-1) as Command;
      const positional = Object.fromEntries((spec.arguments ?? []).map((argument, i) => [argument.name, args[i]]));
      const own = { ...(args.at(-2) as Record<string, unknown>), ...positional };
      const options = self.optsWithGlobals() as GlobalOptions;
      // A --deployment typed on the command line wins over the config file's and is not asked.
      options.deploymentGiven = self.getOptionValueSourceWithGlobals('deployment') === 'cli';
      host = hostFor(options);
      parsed = options;
      const handler = await spec.handler();
      exitCode = await handler({ options, host, signal: interrupt.signal, atQuit }, own);
    });
  }

  const onSigint = () => {
    if (interrupt.signal.aborted) {
      // Last registered first: the continue line is said before the lock goes.
      for (const last of [...lastWords].reverse()) last();
      process.exit(EXIT.interrupted);
    }
    host.notify({ level: 'warn', code: 'interrupt', text: '\nStopping at a safe point (Ctrl-C again to quit at once)...' });
    interrupt.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.badInput;
    }
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return report(err, host, parsed);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The one place a failure becomes an exit code and a line for the operator. */
function report(err: unknown, host: IoHost, options: Pick<GlobalOptions, 'profile' | 'verbose'>): number {
  if (err instanceof CommanderError) {
    // Commander already said what is wrong; help and version are successes.
    return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
  }
  if (err instanceof ExitError) {
    // One line: what is wrong, then how to fix it.
    const text = `error: ${err.message}` + (err.hint ? ` (fix: ${err.hint})` : '');
    host.notify({ level: 'error', code: err.code === EXIT.badInput ? 'refused' : 'failed', text });
    return err.code;
  }
  const name = (err as Error | undefined)?.name;
  if (name === 'ExitPromptError' || name === 'AbortPromptError') {
    host.notify({ level: 'error', code: 'cancelled', text: 'cancelled: nothing was changed' });
    return EXIT.interrupted;
  }
  // Anything else is most likely AWS's: said in the operator's words, AWS's own with --verbose.
  const explained = explain(err, { profile: options.profile });
  host.notify({
    level: 'error',
    code: 'failed',
    text: `error: ${explained.message}${explained.fix ? ` (fix: ${explained.fix})` : ''}`,
    data: explained,
  });
  if (options.verbose && explained.raw !== explained.message)
    host.notify({ level: 'error', code: 'failed.raw', text: `aws: ${explained.raw}` });
  if (process.env.GITLAB_AWS_DEBUG) host.notify({ level: 'error', code: 'failed.stack', text: String((err as Error).stack) });
  return EXIT.stepFailed;
}
