import { ANSWERS } from '../config/answers.js';
import type { ExitCode } from '../errors.js';
import type { CommandContext } from './options.js';

/**
 * A command's argument spec, kept beside its handler (Vercel's habit): `command.ts` in the
 * command's folder is this, light enough for `--help`; `index.ts` is the handler, imported only
 * when the command runs.
 */
export interface CommandSpec<Own = Record<string, never>> {
  name: string;
  description: string;
  examples: string[];
  /** Positional arguments, in order (`render gitlab-rb`): the handler gets each as an own option by name, unchecked. */
  arguments?: Array<{ name: string; description: string }>;
  /** Options of this command only, as commander flags. */
  options?: Array<{ flags: string; description: string }>;
  /** Shown after the examples in the command's --help (install: the reference of every answer). */
  helpAfter?: () => string;
  /** Takes the install answers as flags (--ssh-cidr, --ssh-from-anywhere, --bucket-prefix). */
  answers?: boolean;
  handler(): Promise<(ctx: CommandContext, own: Own) => Promise<ExitCode>>;
}

/** Erases a spec's own-option type for the one list cli.ts registers. */
export function defineCommand<Own>(spec: CommandSpec<Own>): CommandSpec<Record<string, unknown>> {
  return spec as unknown as CommandSpec<Record<string, unknown>>;
}

/** The install answers' flags, generated from the one definition per answer (src/config/answers.ts). */
export const ANSWER_OPTIONS = ANSWERS.filter((def) => def.flag && !def.flag.global).map((def) => ({
  flags: def.flag!.flags,
  description: def.flag!.description,
}));
