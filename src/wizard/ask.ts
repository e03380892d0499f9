import { answerFor, answerProblem, answerText, parseAnswer, setAnswer, UNSET, type AnswerDef, type Facts } from '../config/answers.js';
import type { ConfigFile } from '../config/schema.js';
import type { Choice, IoHost, Question } from '../ui/host.js';

/** The SSH key list's last choice: type the path of a key file elsewhere. */
const ANOTHER_FILE = '<another file>';
/** What opens SSH to the whole internet when typed as the trusted range. */
const THE_WORLD = new Set(['0.0.0.0/0', '::/0']);

/**
 * Asks one answer through the host and gives back the answers with it: the question's default
 * from the answers so far, its choices, and a validation that builds the configuration with the
 * typed value, so a typo is refused in place, with the builder's own words.
 */
export async function askAnswer(host: IoHost, def: AnswerDef, answers: ConfigFile, facts: Facts): Promise<ConfigFile> {
  if (def.key === 'sshCidr') return askSshRange(host, def, answers, facts);
  if (def.key === 'sshPublicKeyFile') return askSshKey(host, def, answers, facts);
  if (def.kind === 'yes-no') {
    const yes = await host.ask<boolean>({
      ...asked(def),
      default: Boolean(def.default(answers, facts)),
      validate: (answer) => answerProblem(def, answer, answers, facts),
    });
    return setAnswer(answers, def.key, yes || undefined);
  }
  const text = await host.ask<string>(questionFor(def, answers, facts));
  return setAnswer(answers, def.key, value(def, text));
}

function asked(def: AnswerDef): Pick<Question, 'id' | 'message' | 'why'> {
  return { id: def.key, message: def.question, why: def.why };
}

/** A typed (or picked) answer's question; `choices` replaces the definition's own. */
export function questionFor(def: AnswerDef, answers: ConfigFile, facts: Facts, choices = def.choices?.(answers, facts)): Question<string> {
  return {
    ...asked(def),
    default: answerText(def, def.default(answers, facts)),
    ...(choices ? { choices } : {}),
    validate: (text) => {
      const parsed = parseAnswer(def, text);
      return 'problem' in parsed ? parsed.problem : answerProblem(def, parsed.value, answers, facts);
    },
  };
}

function value(def: AnswerDef, text: string): unknown {
  const parsed = parseAnswer(def, text);
  return 'value' in parsed ? parsed.value : undefined;
}

/** The trusted range; the whole internet only after a second yes, which defaults to no. */
async function askSshRange(host: IoHost, def: AnswerDef, answers: ConfigFile, facts: Facts): Promise<ConfigFile> {
  const question = questionFor(def, answers, facts);
  const check = question.validate!;
  for (;;) {
    const text = await host.ask<string>({ ...question, validate: (t) => (THE_WORLD.has(t.trim()) ? undefined : check(t)) });
    if (!THE_WORLD.has(text.trim())) return setAnswer(answers, def.key, value(def, text));
    const open = answerFor('sshFromAnywhere');
    const sure = await host.ask<boolean>({ ...asked(open), default: false, withYes: false });
    if (sure) return setAnswer(setAnswer(answers, def.key, undefined), open.key, true);
  }
}

/** The key files in ~/.ssh to pick from (the sandbox's own key first in the sandbox), or another file's path. */
async function askSshKey(host: IoHost, def: AnswerDef, answers: ConfigFile, facts: Facts): Promise<ConfigFile> {
  const files: Choice[] = (facts.sshKeys ?? []).map((path) => ({ value: path }));
  const choices: Choice[] = [
    ...(facts.sandbox ? [{ value: UNSET, name: "the sandbox's own key for this deployment" }] : []),
    ...files,
    { value: ANOTHER_FILE, name: 'another file...' },
  ];
  if (choices.length > 1) {
    const question = questionFor(def, answers, facts, choices);
    const check = question.validate!;
    const picked = await host.ask<string>({ ...question, validate: (t) => (t === ANOTHER_FILE ? undefined : check(t)) });
    if (picked !== ANOTHER_FILE) return setAnswer(answers, def.key, value(def, picked));
  }
  const path = await host.ask<string>({
    ...questionFor(def, answers, facts, undefined),
    id: `${def.key}.path`,
    message: 'Path of your SSH public key file (.pub)',
    default: UNSET,
  });
  return setAnswer(answers, def.key, value(def, path));
}
