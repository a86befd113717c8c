// Parses an AsyncAPI document with the official parser and prints every diagnostic, one a line.
// Exits 1 on any error or warning (information and hints are printed, not counted), 2 when the
// parser itself fails on the document: the contract must pass with nothing to say.
//
//   node .ci/asyncapi/validate.mjs docs/asyncapi.json
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { DiagnosticSeverity, Parser } from "@asyncapi/parser";

const SEVERITY = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "information",
  [DiagnosticSeverity.Hint]: "hint",
};

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <asyncapi document>");
  process.exit(2);
}

let diagnostics;
try {
  const text = await readFile(path, "utf8");
  ({ diagnostics } = await new Parser().parse(text, { source: resolve(path) }));
} catch (error) {
  console.error(`${path}: the parser failed: ${error?.stack ?? error}`);
  process.exit(2);
}

const counts = { error: 0, warning: 0, information: 0, hint: 0 };
for (const diagnostic of diagnostics) {
  const severity = SEVERITY[diagnostic.severity] ?? `severity ${diagnostic.severity}`;
  counts[severity] = (counts[severity] ?? 0) + 1;
  const where = diagnostic.path.length ? diagnostic.path.join(".") : "(document)";
  console.log(`${severity} ${diagnostic.code} at ${where}: ${diagnostic.message}`);
}
console.log(`${path}: ${counts.error} errors, ${counts.warning} warnings`);
process.exit(counts.error || counts.warning ? 1 : 0);
