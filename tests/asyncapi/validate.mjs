// node tests/asyncapi/validate.mjs FILE...: parse each AsyncAPI document with the
// official parser (@asyncapi/parser, pinned in package-lock.json) and print every
// diagnostic of severity error as `file: path: message [rule]`. Exits 1 if any
// document has one, 2 on bad usage. Warnings and information (such as "3.1.0
// exists") are left out: they are advice, the errors are what other tools refuse.
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node tests/asyncapi/validate.mjs DOCUMENT.json...');
  process.exit(2);
}

const parser = new Parser();
let failed = 0;
for (const file of files) {
  let found;
  try {
    const { document, diagnostics } = await fromFile(parser, file).parse();
    found = diagnostics
      .filter((d) => d.severity === DiagnosticSeverity.Error)
      .map((d) => `${(d.path ?? []).join('.') || '(document)'}: ${d.message} [${d.code}]`);
    // The parser returns no document only with an error, but never pass one silently.
    if (document === undefined && found.length === 0) found.push('(document): the parser returned no document');
  } catch (error) {
    found = [`(document): ${error.message}`];
  }
  for (const line of found) console.log(`${file}: ${line}`);
  if (found.length > 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
