// Serves one directory over HTTPS on a free loopback port and prints the port on stdout:
// the real-Renovate test (crates/imgctl/tests/it/renovate_real.rs) loads the preset from it
// as a consumer's `extends` loads a preset by URL. Usage: node serve.mjs DIR CERT KEY
import { createServer } from "node:https";
import { readFileSync } from "node:fs";
import { join, normalize } from "node:path";

const [dir, cert, key] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "https://x").pathname));
  try {
    if (path.includes("..")) throw new Error("outside");
    const body = readFileSync(join(dir, path));
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  } catch {
    res.writeHead(404).end("not found\n");
  }
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0)).resume();
