// Drives `codex app-server` (Codex CLI's model-free JSON-RPC front end, one JSON message per line on stdio) the
// way an IDE extension does, and calls execmcp's tools through Codex's own MCP client:
//   initialize -> initialized -> thread/start -> mcpServer/tool/call (exec, then a background exec + process poll).
// Usage: node codex-app-server.mjs <codex binary> <MCP server name in ~/.codex/config.toml>
// HOME must point at the (scratch) home whose ~/.codex/config.toml registers that server. Exits 0 when every check
// passes, else 1 with the reason on stderr. Every message is echoed to stderr with a "codex>" or "codex<" prefix
// when HOSTS_VERBOSE is set.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const [codexBin, serverName] = process.argv.slice(2);
if (!codexBin || !serverName) {
  console.error("usage: node codex-app-server.mjs <codex binary> <server name>");
  process.exit(2);
}
const verbose = !!process.env.HOSTS_VERBOSE;
const deadline = setTimeout(() => fail("no verdict within 120 s"), 120_000);

const child = spawn(codexBin, ["app-server"], { stdio: ["pipe", "pipe", "pipe"] });
let stderrTail = "";
child.stderr.on("data", (d) => {
  stderrTail = (stderrTail + d).slice(-4000);
});
child.on("exit", (code, sig) => {
  if (!finished) fail(`codex app-server exited early (code ${code}, signal ${sig})`);
});

let finished = false;
function fail(msg) {
  if (finished) return;
  finished = true;
  console.error(`codex (${serverName}): ${msg}`);
  if (stderrTail) console.error(`codex app-server stderr (tail):\n${stderrTail}`);
  child.kill("SIGTERM");
  process.exit(1);
}

let nextId = 1;
const pending = new Map();
const notes = [];
const waiters = [];

function send(msg) {
  const line = JSON.stringify(msg);
  if (verbose) console.error("codex> " + line);
  child.stdin.write(line + "\n");
}
function request(method, params) {
  const id = nextId++;
  send({ id, method, params });
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
// waitNote resolves with the first notification (seen or future) that satisfies pred.
function waitNote(pred, what, ms = 60_000) {
  const seen = notes.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    waiters.push({ pred, resolve: (n) => (clearTimeout(timer), resolve(n)) });
  });
}

createInterface({ input: child.stdout }).on("line", (line) => {
  if (verbose) console.error("codex< " + line);
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (msg.id !== undefined && (msg.result !== undefined || msg.error !== undefined) && !msg.method) {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${JSON.stringify(msg.error)}`));
    else p.resolve(msg.result);
    return;
  }
  if (msg.id !== undefined && msg.method) {
    // A request from the app server (approvals, elicitation): this client approves nothing.
    send({ id: msg.id, error: { code: -32601, message: "not supported by this test client" } });
    return;
  }
  notes.push(msg);
  for (let i = waiters.length - 1; i >= 0; i--) {
    if (waiters[i].pred(msg)) waiters.splice(i, 1)[0].resolve(msg);
  }
});

function text(result) {
  return (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}
function check(cond, what, result) {
  if (!cond) throw new Error(`${what}; got ${JSON.stringify(result).slice(0, 800)}`);
}

async function main() {
  const init = await request("initialize", {
    clientInfo: { name: "execmcp-ci", title: "execmcp CI", version: "1.0.0" },
    capabilities: null,
  });
  send({ method: "initialized" });
  check(init && typeof init === "object", "initialize returned no result", init);

  const started = await request("thread/start", { ephemeral: true, cwd: process.cwd() });
  const threadId = started.thread.id;
  check(typeof threadId === "string" && threadId, "thread/start returned no thread id", started);

  // The thread starts its MCP servers in the background; a call before "ready" would race the handshake.
  const status = await waitNote(
    (n) => n.method === "mcpServer/startupStatus/updated" && n.params.name === serverName &&
      n.params.status !== "starting",
    `mcpServer/startupStatus/updated for ${serverName}`,
  );
  check(status.params.status === "ready", `server ${serverName} did not start`, status.params);

  const call = (tool, args) => request("mcpServer/tool/call", { threadId, server: serverName, tool, arguments: args });

  const hi = await call("exec", { command: "echo hi" });
  check(!hi.isError && text(hi) === "hi", 'exec "echo hi" did not return "hi"', hi);
  check(hi.structuredContent && hi.structuredContent.status === "completed", "exec structuredContent.status", hi);

  const bg = await call("exec", { command: "sleep 0.3; echo bg-done", background: true });
  const sid = bg.structuredContent && bg.structuredContent.sessionId;
  check(!bg.isError && bg.structuredContent.status === "running" && sid, "background exec did not start", bg);

  const polled = await call("process", { action: "poll", sessionId: sid, timeout: 10000 });
  check(!polled.isError && text(polled).includes("bg-done"), "process poll lacks the output bg-done", polled);
  check(polled.structuredContent && polled.structuredContent.exitCode === 0, "process poll lacks exitCode 0", polled);

  console.log(`exec echo hi -> hi; background exec ${sid} + process poll -> bg-done, exit 0`);
}

main().then(
  () => {
    finished = true;
    clearTimeout(deadline);
    child.stdin.end();
    child.kill("SIGTERM");
    process.exit(0);
  },
  (err) => fail(err.message),
);
