import { readFile } from 'node:fs/promises';
import { configFileSchema, installConfigSchema, type ConfigFile, ConfigError } from './schema.js';
import { ANSWER_KEYS, completeConfigFile, getAnswer, mergeAnswers, setAnswer } from './answers.js';

/**
 * Reads a --config file (JSON). Every problem becomes one line naming the file and the field. A
 * `plan --json` document is read back too (eksctl's dry run): its `config` is the answers.
 */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config file ${path}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  let json: unknown;
  try {
    // Windows editors (Notepad, PowerShell's Out-File) start UTF-8 files with a BOM; JSON.parse refuses it.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // V8 quotes part of the file, line breaks included: keep the error on one line.
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`);
  }
  if (isPlanDocument(json)) {
    const plan = installConfigSchema.safeParse(json.config);
    if (!plan.success) throw new ConfigError(`config file ${path} (a plan document): ${firstIssue(plan.error, 'config.')}`);
    json = completeConfigFile(plan.data);
  }
  const unset = unsetIn(json);
  const parsed = configFileSchema.safeParse(isRecord(json) ? withoutUnset(json, unset) : json);
  if (!parsed.success) throw new ConfigError(`config file ${path}: ${firstIssue(parsed.error)}`);
  return mergeAnswers(parsed.data, unset);
}

function withoutUnset(json: Record<string, unknown>, unset: ConfigFile): ConfigFile {
  let kept = json as ConfigFile;
  for (const key of ANSWER_KEYS) if (getAnswer(unset, key) === null) kept = setAnswer(kept, key, undefined);
  return kept;
}

/** The answers the file sets to `null` ("not set, on purpose"); a null anywhere else is the schema's to refuse. */
function unsetIn(json: unknown): ConfigFile {
  let unset: ConfigFile = {};
  if (!isRecord(json)) return unset;
  for (const key of ANSWER_KEYS) if (getAnswer(json, key) === null) unset = setAnswer(unset, key, null);
  return unset;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What `plan --json` prints: the plan beside the `config` it was made from (no config file has a `config` key). */
function isPlanDocument(json: unknown): json is { config: unknown } {
  return typeof json === 'object' && json !== null && 'config' in json;
}

function firstIssue(error: { issues: Array<{ path: PropertyKey[]; message: string }> }, prefix = ''): string {
  const issue = error.issues[0]!;
  const where = issue.path.length ? prefix + issue.path.map(String).join('.') : '(top level)';
  return `${where}: ${issue.message}`;
}
