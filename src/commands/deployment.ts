import { isDeepStrictEqual } from 'node:util';
import { resolveRegion } from '../aws/region.js';
import { readConfigFile } from '../config/file.js';
import { GUIDE_REGION } from '../config/regions.js';
import { readPublicKeyFile, sandboxPublicKey } from '../config/ssh-key.js';
import { buildInstallConfig, ConfigError, DEPLOYMENT_NAME, type ConfigFile, type InstallConfig } from '../config/schema.js';
import { ANSWERS, concrete, configFileOf, mergeAnswers, parseAnswer, setAnswer, type AnswerDef } from '../config/answers.js';
import { flagName } from '../config/answers-reference.js';
import { badInput } from '../errors.js';
import type { StateDoc } from '../state/schema.js';
import { checkStateDir } from '../state/dir.js';
import { readState, statePaths } from '../state/store.js';
import { commandLine, type GlobalOptions } from './options.js';

export interface Deployment {
  paths: ReturnType<typeof statePaths>;
  state: StateDoc | undefined;
  config: InstallConfig;
  /**
   * The answers the --config file and the flags gave, in config-file form (deployment and region
   * when given): the wizard asks the rest.
   */
  given: ConfigFile;
}

/**
 * The configuration, resolved from its sources: the state file (an installed deployment's answers
 * stand), the --config file, then the flags. Everything checkable without AWS is checked here;
 * every problem is an exit-2 one-liner, and nothing has been written yet. With `answering` (the
 * wizard follows), a region nobody named is no refusal: the wizard asks it.
 */
export async function resolveDeployment(options: GlobalOptions, { writes = false, answering = false } = {}): Promise<Deployment> {
  await checkStateDir(options.stateDir, { writes });
  try {
    const file = options.config ? await readConfigFile(options.config) : undefined;
    nameDeployment(options, file);
    const paths = statePaths(options.stateDir, options.deployment);
    const state = await readState(paths.file, { discover: commandLine(options, 'status', { region: options.region }, '--discover') });
    const given = givenAnswers(options, file);
    if (state) {
      await checkInstalled(options, state, file);
      // A sandbox deployment installed before the compute steps has no key yet: it gets the one
      // the sandbox derives for it, as a new install would.
      const config =
        state.sandbox && state.config.sshPublicKey === undefined
          ? { ...state.config, sshPublicKey: sandboxPublicKey(options.deployment) }
          : state.config;
      return { paths, state, config, given };
    }
    // --region, then the config file, then the SDK's own sources (AWS_REGION, the profile).
    const region =
      options.region ?? file?.region ?? (await resolveRegion(undefined, options.profile)) ?? (options.sandbox ? GUIDE_REGION : undefined);
    if (!region && !answering) {
      throw badInput('no AWS region given', 'pass --region (e.g. --region us-west-2), set AWS_REGION, or set one in your AWS profile');
    }
    const sshPublicKey = await publicKey(options, file);
    const { deployment: _d, region: _r, ...answers } = concrete(given);
    const config = buildInstallConfig({
      deployment: options.deployment,
      // The wizard's region question replaces this stand-in before anything asks AWS.
      region: region ?? GUIDE_REGION,
      file: answers,
      sandbox: options.sandbox,
      ...(sshPublicKey !== undefined ? { sshPublicKey } : {}),
    });
    return { paths, state, config, given };
  } catch (err) {
    if (err instanceof ConfigError) throw badInput(err.message, err.hint ?? 'fix the value and run the command again; nothing was created');
    throw err;
  }
}

/**
 * The deployment's name: --deployment typed on the command line, else the config file's, else the
 * default. Written back into the options, since every command line the CLI prints, the lock and
 * the messages name the deployment from there.
 */
function nameDeployment(options: GlobalOptions, file: ConfigFile | undefined): void {
  const named = file?.deployment ?? undefined;
  if (named !== undefined && named !== options.deployment) {
    if (options.deploymentGiven) {
      throw badInput(
        `--deployment ${options.deployment} and deployment '${named}' in ${options.config} disagree`,
        'give the same name in both, or drop one of them',
      );
    }
    options.deployment = named;
  }
  if (!DEPLOYMENT_NAME.test(options.deployment)) {
    throw badInput(
      `deployment name '${options.deployment}' is invalid`,
      'use 1-20 lowercase letters, digits or hyphens, starting with a letter (e.g. --deployment gitlab)',
    );
  }
}

/** What the file and the flags answered (flags win key by key), with the deployment and region when named. */
function givenAnswers(options: GlobalOptions, file: ConfigFile | undefined): ConfigFile {
  return mergeAnswers(
    file,
    flagAnswers(options),
    options.deploymentGiven || file?.deployment != null ? { deployment: options.deployment } : {},
    options.region ? { region: options.region } : {},
  );
}

/** An installed deployment keeps its answers: the same ones again are fine, a change is refused by name. */
async function checkInstalled(options: GlobalOptions, state: StateDoc, file: ConfigFile | undefined): Promise<void> {
  const installed = state.config;
  if (state.sandbox !== options.sandbox) {
    throw badInput(
      `deployment '${options.deployment}' in ${options.stateDir} was built ${state.sandbox ? 'in the sandbox' : 'in a real AWS account'}`,
      state.sandbox ? 'add --sandbox' : 'drop --sandbox',
    );
  }
  if (options.region && options.region !== installed.region) {
    throw badInput(
      `deployment '${options.deployment}' lives in ${installed.region}, not ${options.region}`,
      `drop --region, or use another --deployment for a second installation`,
    );
  }
  if (!file && !answersGiven(options)) return;
  const sshPublicKey = (await publicKey(options, file)) ?? installed.sshPublicKey;
  const wanted = buildInstallConfig({
    deployment: options.deployment,
    region: file?.region ?? installed.region,
    file: concrete(mergeAnswers(stateAnswers(installed), file, flagAnswers(options))),
    sandbox: options.sandbox,
    ...(sshPublicKey !== undefined ? { sshPublicKey } : {}),
  });
  // By value: the state file's key order is the schema's, a freshly built config's is not.
  if (isDeepStrictEqual(wanted, installed)) return;
  const change = firstDifference(installed, wanted);
  throw badInput(
    change
      ? `${change.key} is ${show(change.installed)} in the installed deployment '${options.deployment}', not ${show(change.wanted)}`
      : `the answers differ from those deployment '${options.deployment}' was installed with`,
    'changing an installed deployment is not supported yet: drop the option, tear it down first, or use another --deployment',
  );
}

interface Difference {
  key: string;
  installed: unknown;
  wanted: unknown;
}

/** The first answer that differs, named by its path in the config file (`subnetCidrs.publicA`). */
export function firstDifference(installed: unknown, wanted: unknown, path = ''): Difference | undefined {
  if (isDeepStrictEqual(installed, wanted)) return undefined;
  if (isRecord(installed) && isRecord(wanted)) {
    for (const key of new Set([...Object.keys(installed), ...Object.keys(wanted)])) {
      const found = firstDifference(installed[key], wanted[key], path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return { key: path || '(the configuration)', installed, wanted };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'not set';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The answers given as flags, read through ANSWERS (each flag's option name is its long name in camel case). */
function flagAnswers(options: GlobalOptions): ConfigFile {
  let given: ConfigFile = {};
  for (const def of ANSWERS) {
    const flag = flagName(def);
    if (!flag || def.flag?.global) continue;
    const raw = (options as unknown as Record<string, unknown>)[camelCase(flag)];
    if (raw === undefined) continue;
    given = setAnswer(given, def.key, typeof raw === 'boolean' ? raw : flagValue(def, flag, String(raw)));
  }
  return given;
}

function camelCase(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function flagValue(def: AnswerDef, flag: string, text: string): unknown {
  if (def.kind === 'count') return count(flag, text);
  const parsed = parseAnswer(def, text);
  if ('problem' in parsed) throw new ConfigError(`${flag} '${text}': ${parsed.problem}`, `fix ${flag}; nothing was created`);
  return parsed.value;
}

/** A flag's whole number; the config check then judges its range. */
function count(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new ConfigError(`${flag} '${text}' is not a whole number`, `give a count, e.g. ${flag} 2; nothing was created`);
  }
  return Number(text);
}

function answersGiven(options: GlobalOptions): boolean {
  return Object.keys(flagAnswers(options)).length > 0;
}

/** The key's material: --ssh-public-key, then the file's sshPublicKeyFile; the sandbox makes one of its own. */
async function publicKey(options: GlobalOptions, file: ConfigFile | undefined): Promise<string | undefined> {
  // null in a file is "not set": the saved answers carry the key itself instead.
  const path = options.sshPublicKey ?? file?.sshPublicKeyFile ?? undefined;
  if (path !== undefined) return readPublicKeyFile(path);
  if (file?.sshPublicKey) return file.sshPublicKey;
  return options.sandbox ? sandboxPublicKey(options.deployment) : undefined;
}

/** An installed deployment's answers in config-file form, so a partial --config or flag compares fairly. */
function stateAnswers(config: InstallConfig): ConfigFile {
  const { deployment: _d, region: _r, sshPublicKey: _k, ...rest } = configFileOf(config);
  return rest;
}
