// Real-client test of execmcp with the official MCP TypeScript SDK, driven by integration_test/http_ts_test.go.
//
//   node client.mjs stdio <execmcp binary> <dir>
//   node client.mjs http <http://host:port/mcp> <bearer token or ""> <dir>
//
// It connects (StdioClientTransport spawning the binary, or StreamableHTTPClientTransport), starts a background
// `echo $$ > <dir>/ts-pgid; sleep 0.3; echo ts-ok`, waits for the notifications/message of its exit, waits 500 ms
// more for a duplicate, closes, and prints one JSON object on stdout. Failures print {"error": ...} and exit 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [mode, target, ...rest] = process.argv.slice(2);

function fail(msg) {
  process.stdout.write(JSON.stringify({ error: String(msg) }) + "\n");
  process.exit(1);
}

const overall = setTimeout(() => fail("timed out after 60 s"), 60000);

async function main() {
  let transport;
  let dir;
  const out = { mode };
  if (mode === "stdio") {
    dir = rest[0];
    transport = new StdioClientTransport({
      command: target,
      args: [],
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, EXECMCP_LOG_LEVEL: "warn" },
      stderr: "pipe",
    });
  } else if (mode === "http") {
    const token = rest[0];
    dir = rest[1];
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    transport = new StreamableHTTPClientTransport(new URL(target), { requestInit: { headers } });
  } else {
    fail(`unknown mode ${mode}`);
  }

  const client = new Client({ name: "execmcp-ts-test", version: "1.0.0" }, { capabilities: {} });
  const messages = [];
  let wake;
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    messages.push({ at: Date.now(), params: n.params });
    if (wake) wake();
  });

  await client.connect(transport);
  if (mode === "stdio") out.serverPid = transport.pid;
  else out.mcpSessionId = transport.sessionId;
  out.protocolVersion = mode === "http" ? transport.protocolVersion ?? null : null;
  out.serverInfo = client.getServerVersion();

  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => t.name).sort();

  const fg = await client.callTool({ name: "exec", arguments: { command: "echo hi" } });
  out.foreground = { text: fg.content?.[0]?.text, status: fg.structuredContent?.status, isError: !!fg.isError };

  const cmd = `echo $$ > '${dir}/ts-pgid'; sleep 0.3; echo ts-ok`;
  const bg = await client.callTool({ name: "exec", arguments: { command: cmd, background: true } });
  const sc = bg.structuredContent ?? {};
  out.background = { status: sc.status, sessionId: sc.sessionId, pid: sc.pid, isError: !!bg.isError };
  const started = Date.now();

  const mine = () => messages.filter((m) => m.params?.data?.sessionId === sc.sessionId);
  while (mine().length === 0 && Date.now() - started < 10000) {
    await new Promise((resolve) => {
      wake = resolve;
      setTimeout(resolve, 100);
    });
  }
  const first = mine()[0];
  out.waitedMs = Date.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 500));
  out.exitMessages = mine().map((m) => m.params);
  out.allMessages = messages.length;
  if (first) out.notification = first.params;

  if (mode === "http") await transport.terminateSession(); // DELETE
  await client.close();
  clearTimeout(overall);
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => fail(e && e.stack ? e.stack : e));
