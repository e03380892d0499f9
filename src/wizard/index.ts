import { ANSWERS, isAnswered, withDefaults, type AnswerDef, type FactName, type Facts } from '../config/answers.js';
import type { ConfigFile } from '../config/schema.js';
import type { IoHost } from '../ui/host.js';
import { askAnswer } from './ask.js';

export { askAnswer } from './ask.js';

/** Looks a fact up (src/wizard/facts.ts binds it to the session). */
export type LookUp = (name: FactName, facts: Facts, answers: ConfigFile) => Promise<Facts>;

/** The one question before the rarely changed answers; no (the default) keeps the guide's. */
const RARE_GATE = {
  id: 'changeRareAnswers',
  message: 'Change the rarely changed answers too (bucket prefix, network ranges, PostgreSQL version and parameter group, AMI IDs)?',
  why: "The guide's values suit almost every installation; they are all config-file keys as well.",
  default: false,
};

/**
 * The wizard (issue 10): asks, in the guide's order, every answer of `stage` the answers do not
 * hold yet, each with its default and why; looks up what a question needs first (the zones, the
 * domain's zone and certificates, the GitLab versions, the key files). Gives back the answers.
 */
export async function askAnswers(
  host: IoHost,
  stage: AnswerDef['stage'],
  given: ConfigFile,
  facts: Facts,
  lookUp?: LookUp,
): Promise<ConfigFile> {
  let answers = given;
  let known = facts;
  const looked = new Set<FactName>();
  let rare: boolean | undefined;
  for (const def of ANSWERS) {
    if (def.stage !== stage || def.asked === false || isAnswered(answers, def)) continue;
    if (def.facts && lookUp && !looked.has(def.facts)) {
      known = await lookUp(def.facts, known, answers);
      looked.add(def.facts);
    }
    if (def.when && !def.when(withDefaults(answers, known), known)) continue;
    if (def.rare) {
      rare ??= await host.ask<boolean>(RARE_GATE);
      if (!rare) continue;
    }
    answers = await askAnswer(host, def, answers, known);
  }
  return answers;
}
