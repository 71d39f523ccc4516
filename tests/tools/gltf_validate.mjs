// Validate one .gltf/.glb with the Khronos glTF Validator (npm `gltf-validator`, installed by scripts/setup.sh
// into .venv/node). Usage: node tests/tools/gltf_validate.mjs FILE [NODE_MODULES_DIR]
// Prints the validator's JSON report on stdout; exit 0 when it has zero errors, 1 when it has errors,
// 2 when the file could not be read or parsed at all.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const [file, modules = path.join(here, "..", "..", ".venv", "node", "node_modules")] = process.argv.slice(2);
if (!file) {
  console.error("usage: node gltf_validate.mjs FILE [NODE_MODULES_DIR]");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), "noop.js"));
const validator = require("gltf-validator");

try {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), {
    uri: path.basename(file),
    maxIssues: 1000,
  });
  console.log(JSON.stringify(report, null, 1));
  process.exit(report.issues.numErrors === 0 ? 0 : 1);
} catch (err) {
  console.error(String(err));
  process.exit(2);
}
