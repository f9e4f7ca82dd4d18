// Validates an OpenAPI document against the official schema of its version (3.1 for
// docs/openapi.yaml), and that every internal $ref resolves. Prints one line, PASS or FAIL
// (with the first errors), and exits 1 on an invalid document. Run by scripts/check-openapi.sh.
import { Validator } from "@seriousme/openapi-schema-validator";
import { argv, exit } from "node:process";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";

const file = argv[2];
if (!file) {
  console.log("usage: node check.mjs <openapi.yaml>");
  exit(2);
}

let spec;
try {
  spec = parse(await readFile(file, "utf8"), { uniqueKeys: true });
} catch (e) {
  console.log(`FAIL ${file}: not YAML: ${e.message.split("\n")[0]}`);
  exit(1);
}
if (typeof spec?.openapi !== "string" || !spec.openapi.startsWith("3.1.")) {
  console.log(`FAIL ${file}: "openapi" must be 3.1.x, got ${JSON.stringify(spec?.openapi)}`);
  exit(1);
}

const result = await new Validator().validate(spec);
if (result.valid) {
  console.log(`PASS ${file}: valid OpenAPI ${spec.openapi} (${Object.keys(spec.paths ?? {}).length} paths)`);
  exit(0);
}
const errors = Array.isArray(result.errors) ? result.errors : [result.errors];
const shown = errors
  .slice(0, 3)
  .map((e) => (typeof e === "string" ? e : `${e.instancePath ?? ""} ${e.message ?? JSON.stringify(e)}`.trim()))
  .join("; ");
console.log(`FAIL ${file}: ${errors.length} error(s): ${shown}`);
exit(1);
