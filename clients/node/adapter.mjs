// nats.js behind the process protocol (docs/process-protocol.md).
//
// A plain @nats-io/transport-node client (the official NATS JavaScript client for Node.js,
// version 3) with the library's defaults: reconnect settings, ping interval, timeouts are
// not changed. The nats-fault-harness runner drives it over stdin/stdout in JSON lines;
// what the client throws is reported as it is (its class name, message and cause), so the
// harness judges nats.js itself. Logs go to stderr. It exits when its stdin closes.
//
// Endpoints served from `start` on, as the Python reference adapter: `proc.quote`
// (respond: echoes the request) and `proc.orders` (republish: each input unchanged on
// `proc.orders.done`), both in the queue group `proc`.
//
// Packages: pinned by package.json and package-lock.json (integrity hashes), installed by
// install.sh (`make clients`).

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";

const PROTOCOL = 1;
const NAME = "nats.js";
const CAPABILITIES = ["publish", "jetstream_publish", "request", "subscribe", "respond", "republish"];
const RESPOND = { subject: "proc.quote", queue: "proc", name: "quote" };
const REPUBLISH = { subject: "proc.orders", output: "proc.orders.done", queue: "proc", name: "orders" };
const STATUS = { disconnect: "disconnected", reconnect: "reconnected", error: "error", close: "closed" };
const QUIET = new Set(["ping", "update"]);

const version = JSON.parse(
  readFileSync(new URL("./node_modules/@nats-io/transport-node/package.json", import.meta.url)),
).version;

const now = () => performance.now() / 1000; // monotonic seconds (any origin: the runner maps it)

function send(message) {
  message.t = now();
  process.stdout.write(JSON.stringify(message) + "\n");
}

function event(kind, detail = {}) {
  send({ type: "event", kind, detail });
}

class Refused extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function errorObject(err, depth = 0) {
  const out = {
    kind: "client",
    type: err?.constructor?.name || err?.name || "Error",
    module: "nats.js",
    message: String(err?.message ?? err),
  };
  if (err?.cause && depth < 5) out.cause = errorObject(err.cause, depth + 1);
  return out;
}

const b64 = (text) => Buffer.from(text, "base64");

let nc = null;
const subs = new Map();
let nextSid = 1;

function client() {
  if (nc === null) throw new Refused("bad_request", "not started");
  return nc;
}

async function watch(conn) {
  for await (const s of conn.status()) {
    if (QUIET.has(s.type)) continue;
    const detail = {};
    if (s.server) detail.server = String(s.server);
    if (s.error) detail.error = `${s.error.constructor?.name || "Error"}: ${s.error.message}`;
    event(STATUS[s.type] ?? s.type, detail);
  }
}

const commands = {
  async start(cmd) {
    nc = await connect({ servers: cmd.servers, name: cmd.name || NAME });
    event("connected", { server: nc.getServer() });
    watch(nc).catch((err) => process.stderr.write(`adapter: status: ${err}\n`));
    const endpoints = [];
    if (cmd.inputs === "respond") {
      nc.subscribe(RESPOND.subject, {
        queue: RESPOND.queue,
        callback: (err, msg) => { if (!err) msg.respond(msg.data); },
      });
      endpoints.push(RESPOND);
    } else if (cmd.inputs === "republish") {
      nc.subscribe(REPUBLISH.subject, {
        queue: REPUBLISH.queue,
        callback: (err, msg) => { if (!err) nc.publish(REPUBLISH.output, msg.data); },
      });
      endpoints.push(REPUBLISH);
    } else {
      endpoints.push(RESPOND, REPUBLISH);
    }
    await nc.flush();
    return { endpoints };
  },
  async publish(cmd) {
    const conn = client();
    conn.publish(cmd.subject, b64(cmd.data));
    await conn.flush();
    return {};
  },
  async publish_jetstream(cmd) {
    const opts = cmd.dedupe ? { msgID: cmd.msg_id } : {};
    const ack = await jetstream(client()).publish(cmd.subject, b64(cmd.data), opts);
    return { stream: ack.stream, seq: ack.seq, duplicate: Boolean(ack.duplicate) };
  },
  async request(cmd) {
    const msg = await client().request(cmd.subject, b64(cmd.data), {
      timeout: Math.round(Number(cmd.timeout) * 1000),
    });
    return { data: Buffer.from(msg.data).toString("base64") };
  },
  async subscribe(cmd) {
    const sub = client().subscribe(cmd.subject, {
      queue: cmd.queue || undefined,
      callback: () => {},
    });
    const sid = String(nextSid++);
    subs.set(sid, sub);
    return { sid };
  },
  async unsubscribe(cmd) {
    const sub = subs.get(String(cmd.sid));
    if (sub === undefined) throw new Refused("bad_request", `no subscription ${cmd.sid}`);
    subs.delete(String(cmd.sid));
    sub.unsubscribe();
    return {};
  },
  async close() {
    if (nc !== null && !nc.isClosed()) await nc.close();
    return {};
  },
};

async function run(cmd) {
  const handler = Object.hasOwn(commands, cmd.type) ? commands[cmd.type] : undefined;
  try {
    if (handler === undefined) throw new Refused("unsupported", `unknown command ${JSON.stringify(cmd.type)}`);
    const result = await handler(cmd);
    send({ type: "ok", id: cmd.id, result });
  } catch (err) {
    const error = err instanceof Refused ? { kind: err.kind, message: err.message } : errorObject(err);
    send({ type: "error", id: cmd.id, error });
  }
}

send({ type: "hello", protocol: PROTOCOL, name: NAME, client: `nats.js ${version}`, capabilities: CAPABILITIES });

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
const running = new Set();
lines.on("line", (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    process.stderr.write(`adapter: not a command: ${line.slice(0, 200)}\n`);
    return;
  }
  const task = run(cmd).finally(() => running.delete(task));
  running.add(task);
});
lines.on("close", async () => {
  // stdin closed: the runner is done with us
  try {
    if (nc !== null && !nc.isClosed()) await nc.close();
  } finally {
    process.exit(0);
  }
});
