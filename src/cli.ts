import { Command, CommanderError, Option } from 'commander';
import { EXIT, ExitError, errorMessage, type ExitCode } from './errors.js';
import { line, paint, processIo, type Io } from './ui/io.js';
import type { CommandContext, GlobalOptions } from './commands/context.js';
import { VERSION } from './version.js';

/**
 * Commander wiring only: the commands, the global options, and the exit codes. Each command's
 * module is imported when it is invoked, so `--help` stays instant.
 */
export async function main(argv: string[], ioOverride?: Io, signal?: AbortSignal): Promise<number> {
  let io = ioOverride ?? processIo(!argv.includes('--no-color'));
  const interrupt = new AbortController();
  signal?.addEventListener('abort', () => interrupt.abort(signal.reason), { once: true });
  let exitCode: number = EXIT.ok;

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
      'JSON file with answers: region, availabilityZones, vpcCidr, subnetCidrs, sshCidr, sshFromAnywhere, bucketPrefix',
    )
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--json', 'machine-readable output (NDJSON events while running)', false)
    .option('--verbose', 'show every wait and every resource as it is recorded', false)
    .option('--no-color', 'no colours in the output')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for usage)');

  const run = (load: (ctx: CommandContext) => Promise<ExitCode>) => async (_opts: unknown, command: Command) => {
    const options = command.optsWithGlobals() as GlobalOptions & { discover?: boolean };
    if (!ioOverride) io = processIo(options.color);
    exitCode = await load({ options, io, signal: interrupt.signal });
  };

  const answers = (command: Command) =>
    command
      .option('--ssh-cidr <cidr>', 'trusted range for SSH to the load balancer (Git) and the bastions, e.g. 203.0.113.0/24')
      .option('--ssh-from-anywhere', 'open SSH to 0.0.0.0/0 and ::/0 (not recommended)')
      .option('--bucket-prefix <prefix>', 'S3 bucket names become <prefix>-<type> (default gl-<deployment>-<account>)');

  answers(program.command('install'))
    .description('show the plan, then build every step of the guide (resumes if a state file exists)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ gitlab-aws install --sandbox --yes          # rehearse end to end, no AWS account\n  $ gitlab-aws install --region us-west-2 --profile admin',
    )
    .action(run(async (ctx) => (await import('./commands/install.js')).install(ctx, { resume: false })));

  program
    .command('resume')
    .description('continue an install that failed or was interrupted, from its state file')
    .addHelpText('after', '\nExample:\n  $ gitlab-aws resume --deployment gitlab')
    .action(run(async (ctx) => (await import('./commands/install.js')).install(ctx, { resume: true })));

  program
    .command('teardown')
    .description('delete everything this deployment created, dependents first')
    .option('--delete-data', 'also delete S3 buckets that hold data (every object version); without it they are kept')
    .addHelpText('after', '\nExample:\n  $ gitlab-aws teardown --sandbox --yes')
    .action(run(async (ctx) => (await import('./commands/teardown.js')).teardown(ctx)));

  program
    .command('status')
    .description('list the steps and the resources of a deployment')
    .addOption(new Option('--discover', 'list what AWS holds tagged with this deployment instead of the state file'))
    .addHelpText('after', '\nExamples:\n  $ gitlab-aws status --json\n  $ gitlab-aws status --sandbox --discover --json')
    .action(async (opts: { discover?: boolean }, command: Command) =>
      run(async (ctx) => (await import('./commands/status.js')).status(ctx, { discover: Boolean(opts.discover) }))(opts, command),
    );

  program
    .command('root-password')
    .description("print GitLab's root password (kept in SSM Parameter Store, shown only on request)")
    .addHelpText('after', '\nExample:\n  $ gitlab-aws root-password --sandbox')
    .action(run(async (ctx) => (await import('./commands/root-password.js')).rootPassword(ctx)));

  answers(program.command('plan'))
    .description('show what an install would create, in which order and what runs side by side')
    .addHelpText('after', '\nExample:\n  $ gitlab-aws plan --config answers.json')
    .action(run(async (ctx) => (await import('./commands/plan.js')).plan(ctx)));

  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    line(io.stderr, '\nStopping at a safe point (Ctrl-C again to quit at once)...');
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
    return report(err, io);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function report(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message; help and version are successes.
    return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
  }
  if (err instanceof ExitError) {
    // One line: what is wrong, then how to fix it.
    line(io.stderr, paint(io, 'red', `error: ${err.message}`) + (err.hint ? ` (fix: ${err.hint})` : ''));
    return err.code;
  }
  const name = (err as Error | undefined)?.name;
  if (name === 'ExitPromptError' || name === 'AbortPromptError') {
    line(io.stderr, 'cancelled: nothing was changed');
    return EXIT.interrupted;
  }
  line(io.stderr, paint(io, 'red', `error: ${errorMessage(err)}`));
  if (process.env.GITLAB_AWS_DEBUG) line(io.stderr, String((err as Error).stack));
  return EXIT.stepFailed;
}
