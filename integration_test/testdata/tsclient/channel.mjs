// Claude Code channel events with the official MCP TypeScript SDK, driven by integration_test/http_ts_test.go.
//
//   node channel.mjs <execmcp binary> <dir> <client name>
//
// It connects over stdio (StdioClientTransport spawning the binary) as <client name>, reads the server's
// capabilities and instructions, starts a background command with notifyOnOutput that prints a watched line and
// exits, collects every notifications/claude/channel (through the SDK's fallback handler, which is how a client
// sees a notification it has no schema for) until the exit's notifications/message arrived or 10 s passed, waits
// 500 ms more (a channel event is sent right after the message), closes,
// and prints one JSON object on stdout. Failures print {"error": ...} and exit 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [binary, dir, name] = process.argv.slice(2);

function fail(msg) {
  process.stdout.write(JSON.stringify({ error: String(msg) }) + "\n");
  process.exit(1);
}

const overall = setTimeout(() => fail("timed out after 60 s"), 60000);

async function main() {
  const transport = new StdioClientTransport({
    command: binary,
    args: [],
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, EXECMCP_LOG_LEVEL: "warn" },
    stderr: "pipe",
  });
  const client = new Client({ name, version: "1.0.0" }, { capabilities: {} });
  const channel = [];
  let wake;
  let exitMessage = false;
  client.fallbackNotificationHandler = async (n) => {
    if (n.method === "notifications/claude/channel") channel.push(n.params);
    if (wake) wake();
  };
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    if (n.params?.data?.event === "exec.exit") exitMessage = true;
    if (wake) wake();
  });
  await client.connect(transport);
  const out = {
    experimental: client.getServerCapabilities()?.experimental ?? null,
    instructions: client.getInstructions() ?? "",
  };
  const bg = await client.callTool({
    name: "exec",
    arguments: { command: "sleep 0.3; echo READY ts; sleep 0.3; echo bye", background: true, notifyOnOutput: "^READY" },
  });
  out.sessionId = bg.structuredContent?.sessionId;
  const started = Date.now();
  const exited = () => exitMessage;
  while (!exited() && Date.now() - started < 10000) {
    await new Promise((resolve) => {
      wake = resolve;
      setTimeout(resolve, 100);
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  out.channel = channel;
  await client.close();
  clearTimeout(overall);
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => fail(e && e.stack ? e.stack : e));
