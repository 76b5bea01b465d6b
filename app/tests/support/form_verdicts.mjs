// For tests/test_form_rules_agree.py: reads drafts (JSON, one array) on stdin and prints, for
// each, whether the form would send it and the body it would send.
import { body, consentProblems, familyProblems, programProblems } from "../../src/referral.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const verdicts = JSON.parse(input).map(({ draft, programs }) => {
  const problems = { ...familyProblems(draft), ...consentProblems(draft), ...programProblems(programs) };
  if (!programs.length) problems.programs = "form.no_programs";
  return { sendable: Object.keys(problems).length === 0, problems, body: body(draft, programs, "bridges-consent-2026-11/en") };
});
process.stdout.write(JSON.stringify(verdicts));
