import { readFile } from 'node:fs/promises';
import { configFileSchema, type ConfigFile, ConfigError } from './schema.js';

/** Reads a --config file (JSON). Every problem becomes one line naming the file and the field. */
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
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new ConfigError(`config file ${path}: ${where}: ${issue.message}`);
  }
  return parsed.data;
}
