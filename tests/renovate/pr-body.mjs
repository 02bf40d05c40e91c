// What Renovate's branch worker would do with a lookup report, by Renovate's own code: the
// local platform stops after lookups (`--platform=local` is always a lookup dry run), so the
// real-Renovate test (crates/imgctl/tests/it/renovate_real.rs) hands the report's package files
// to Renovate's `branchifyUpgrades` (flattening, package rules, grouping), renders each
// branch's PR body notes with its `getPrNotes`, and applies every upgrade to the files with its
// `doAutoReplace` (the pinning templates). The repository config is resolved by Renovate's
// `resolveConfigPresets` (the preset fetched by URL with its arguments).
// Usage: node pr-body.mjs RENOVATE_DIST REPORT REPO_DIR OUT_JSON
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dist, reportPath, repo, out] = process.argv.slice(2);
const load = (m) => import(join(dist, m));
const { getConfig } = await load("config/defaults.js");
const { mergeChildConfig } = await load("config/utils.js");
const { resolveConfigPresets } = await load("config/presets/index.js");
const { GlobalConfig } = await load("config/global.js");
const { branchifyUpgrades } = await load("workers/repository/updates/branchify.js");
const { getPrNotes } = await load("workers/repository/update/pr/body/notes.js");
const { doAutoReplace } = await load("workers/repository/update/branch/auto-replace.js");

GlobalConfig.set({ localDir: repo, platform: "local" });
const repoConfig = JSON.parse(readFileSync(join(repo, "renovate.json"), "utf8"));
const resolved = (await resolveConfigPresets(repoConfig, getConfig())).config;
if (!resolved.customManagers?.length) throw new Error(`the preset did not resolve: ${JSON.stringify(resolved)}`);
const config = { ...mergeChildConfig(getConfig(), resolved), errors: [], warnings: [] };
const report = JSON.parse(readFileSync(reportPath, "utf8"));
const packageFiles = Object.values(report.repositories)[0].packageFiles;
const { branches } = await branchifyUpgrades(config, packageFiles);

const files = {};
const result = [];
for (const branch of branches) {
  for (const upgrade of branch.upgrades) {
    const before = files[upgrade.packageFile] ?? readFileSync(join(repo, upgrade.packageFile), "utf8");
    files[upgrade.packageFile] = await doAutoReplace(upgrade, before, false);
  }
  result.push({ branchName: branch.branchName, prTitle: branch.prTitle, notes: getPrNotes(branch), upgrades: branch.upgrades.length });
}
writeFileSync(out, JSON.stringify({ branches: result, files }, null, 2));
