// Drive a Toxiproxy-compatible server through toxiproxy-node-client 4.1.0 (plain node, no jest).
//
// Usage: node compat.mjs http://127.0.0.1:PORT     (or TOXIPROXY_URL=... node compat.mjs)
//
// Exercises every call the client makes (dist/Toxiproxy.js, Proxy.js, Toxic.js): createProxy,
// get, getAll, populate, getVersion, reset, Proxy.update/remove/addToxic/getToxic,
// Toxic.update/remove. Prints one JSON line per check: {"check": name, "ok": bool, "detail": ...}
// and exits 1 if any check failed (2 on a crash). Expects an empty server; leaves it empty.
// No upstream is ever dialled (upstreams are "localhost:6379"/"somehost:12345", as in the
// client's own tests); listening ports are probed with net.connect.

import net from "node:net";
import pkg from "toxiproxy-node-client";

const { Toxiproxy, ToxiproxyError, Proxy, Toxic } = pkg;

const url = (process.argv[2] ?? process.env.TOXIPROXY_URL ?? "").replace(/\/$/, "");
if (!/^https?:\/\/[^/]+$/.test(url)) {
  console.error("usage: node compat.mjs http://HOST:PORT");
  process.exit(2);
}

let failures = 0;

function report(check, ok, detail) {
  if (!ok) failures += 1;
  console.log(JSON.stringify({ check, ok, detail: detail ?? null }));
}

async function check(name, fn) {
  try {
    const detail = await fn();
    report(name, true, detail);
  } catch (err) {
    report(name, false, `${err?.name ?? "Error"}: ${err?.message ?? String(err)}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  assert(a === e, `${what}: expected ${e}, got ${a}`);
}

async function rejectsWith(promise, status) {
  try {
    await promise;
  } catch (err) {
    assert(err instanceof ToxiproxyError, `expected ToxiproxyError, got ${err}`);
    eq(err.message, `Request failed with status code ${status}`, "error message");
    return err.message;
  }
  throw new Error(`expected a ${status} error, the call succeeded`);
}

function portOf(listen) {
  const m = /^127\.0\.0\.1:([1-9]\d*)$/.exec(listen);
  assert(m, `listen should be resolved to 127.0.0.1:<port>, got ${JSON.stringify(listen)}`);
  return Number(m[1]);
}

function probe(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    const done = (outcome) => {
      sock.destroy();
      resolve(outcome);
    };
    sock.setTimeout(2000, () => done("timeout"));
    sock.once("connect", () => done("accepted"));
    sock.once("error", (e) => done(e.code === "ECONNREFUSED" ? "refused" : e.code));
  });
}

const toxiproxy = new Toxiproxy(url);
const UPSTREAM = "localhost:6379";
const state = {};

await check("version", async () => {
  const text = await toxiproxy.getVersion();
  assert(typeof text === "string", "getVersion returns text");
  const version = JSON.parse(text).version;
  assert(typeof version === "string" && version.length > 0, `version in ${text}`);
  return text.trim();
});

await check("getAll_empty", async () => {
  eq(Object.keys(await toxiproxy.getAll()), [], "proxies on a clean server");
});

await check("create_proxy", async () => {
  const proxy = await toxiproxy.createProxy({ listen: "localhost:0", name: "node_a", upstream: UPSTREAM });
  assert(proxy instanceof Proxy, "createProxy returns a Proxy");
  eq([proxy.name, proxy.upstream, proxy.enabled], ["node_a", UPSTREAM, true], "fields");
  state.a = proxy;
  state.portA = portOf(proxy.listen);
  eq(await probe(state.portA), "accepted", "listening port");
  return proxy.listen;
});

await check("get_proxy", async () => {
  const proxy = await toxiproxy.get("node_a");
  eq(proxy.toJson(), state.a.toJson(), "get() matches createProxy()");
});

await check("get_missing_proxy_404", async () => rejectsWith(toxiproxy.get("node_missing"), 404));

await check("get_all", async () => {
  state.b = await toxiproxy.createProxy({ listen: "localhost:0", name: "node_b", upstream: UPSTREAM });
  const all = await toxiproxy.getAll();
  eq(Object.keys(all).sort(), ["node_a", "node_b"], "names");
  assert(all.node_a instanceof Proxy, "values are Proxy objects");
  eq(all.node_a.toJson(), state.a.toJson(), "node_a");
});

await check("duplicate_proxy_409", async () =>
  rejectsWith(toxiproxy.createProxy({ listen: "localhost:0", name: "node_a", upstream: UPSTREAM }), 409));

await check("update_disable", async () => {
  const p = await state.a.update({ ...state.a.toJson(), enabled: false });
  eq([p.enabled, p.listen, p.upstream], [false, state.a.listen, UPSTREAM], "after disable");
  eq(await probe(state.portA), "refused", "port of a disabled proxy");
});

await check("update_upstream_while_disabled", async () => {
  const p = await state.a.update({ enabled: false, listen: state.a.listen, upstream: "somehost:12345" });
  eq([p.enabled, p.upstream], [false, "somehost:12345"], "after upstream change");
});

await check("update_reenable", async () => {
  const p = await state.a.update({ enabled: true, listen: state.a.listen, upstream: "somehost:12345" });
  eq([p.enabled, p.upstream, p.listen], [true, "somehost:12345", state.a.listen], "after enable");
  eq(await probe(state.portA), "accepted", "port after re-enable");
  state.a = p;
});

await check("toxic_defaults", async () => {
  const toxic = await state.a.addToxic({ type: "latency", attributes: { latency: 1000, jitter: 100 } });
  assert(toxic instanceof Toxic, "addToxic returns a Toxic");
  eq([toxic.name, toxic.type, toxic.stream, toxic.toxicity],
    ["latency_downstream", "latency", "downstream", 1], "defaults");
  eq(toxic.attributes, { latency: 1000, jitter: 100 }, "attributes");
  state.toxic = toxic;
});

await check("get_toxic_round_trip", async () => {
  const got = await state.a.getToxic("latency_downstream");
  eq(got.toJson(), state.toxic.toJson(), "getToxic() matches addToxic()");
});

await check("duplicate_toxic_409", async () =>
  rejectsWith(state.a.addToxic({ type: "latency", name: "latency_downstream", stream: "upstream", attributes: {} }), 409));

await check("update_toxic_attributes", async () => {
  const updated = await state.toxic.update({ attributes: { latency: 12345, jitter: 42 } });
  eq(updated.attributes, { latency: 12345, jitter: 42 }, "partial update");
  const full = await updated.update({ ...updated.toJson(), toxicity: 0.5, attributes: { latency: 7, jitter: 1 } });
  eq([full.attributes, full.toxicity, full.name], [{ latency: 7, jitter: 1 }, 0.5, "latency_downstream"],
    "full-body update");
  const read = await state.a.getToxic("latency_downstream");
  eq(read.toJson(), full.toJson(), "stored after update");
});

await check("missing_toxic_404", async () => rejectsWith(state.a.getToxic("nope"), 404));

const TYPES = [
  ["slow_close", { delay: 1000 }],
  ["timeout", { timeout: 1000 }],
  ["slicer", { average_size: 10, size_variation: 2, delay: 5 }],
  ["reset_peer", { timeout: 100 }],
  ["limit_data", { bytes: 1000 }],
  ["bandwidth", { rate: 1000 }],
  ["latency", { latency: 1000, jitter: 100 }],
];
for (const [type, attributes] of TYPES) {
  await check(`toxic_type_${type}`, async () => {
    const toxic = await state.b.addToxic({ type, stream: "upstream", toxicity: 1, attributes });
    eq([toxic.name, toxic.type, toxic.stream], [`${type}_upstream`, type, "upstream"], "identity");
    const want = Object.fromEntries(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
    const got = Object.fromEntries(Object.keys(toxic.attributes).sort().map((k) => [k, toxic.attributes[k]]));
    eq(got, want, "attributes echoed");
    await toxic.remove();
    await rejectsWith(state.b.getToxic(toxic.name), 404);
  });
}

await check("toxic_remove", async () => {
  const toxic = await state.a.getToxic("latency_downstream");
  await toxic.remove();
  await rejectsWith(state.a.getToxic("latency_downstream"), 404);
  await rejectsWith(toxic.remove(), 404);
});

await check("populate", async () => {
  const proxies = await toxiproxy.populate([
    { listen: "localhost:0", name: "pop_a", upstream: UPSTREAM },
    { listen: "localhost:0", name: "pop_b", upstream: UPSTREAM, enabled: false },
  ]);
  eq(Object.keys(proxies).sort(), ["pop_a", "pop_b"], "populated names");
  assert(proxies.pop_a instanceof Proxy, "values are Proxy objects");
  eq([proxies.pop_a.enabled, proxies.pop_b.enabled], [true, false], "enabled");
  eq(await probe(portOf(proxies.pop_a.listen)), "accepted", "pop_a port");
});

await check("populate_empty", async () => {
  eq(await toxiproxy.populate([]), {}, "populate([])");
});

await check("reset", async () => {
  await state.a.addToxic({ type: "latency", name: "to_clear", attributes: { latency: 10 } });
  await state.b.update({ ...state.b.toJson(), enabled: false });
  const result = await toxiproxy.reset();
  eq(result, undefined, "reset() resolves with nothing");
  await rejectsWith(state.a.getToxic("to_clear"), 404);
  const b = await toxiproxy.get("node_b");
  eq([b.enabled, b.listen], [true, state.b.listen], "node_b re-enabled on the same listen");
});

await check("remove", async () => {
  const all = await toxiproxy.getAll();
  for (const proxy of Object.values(all)) await proxy.remove();
  eq(Object.keys(await toxiproxy.getAll()), [], "after removing every proxy");
  eq(await probe(state.portA), "refused", "removed proxy's port");
  await rejectsWith(state.a.remove(), 404);
});

process.exitCode = failures === 0 ? 0 : 1;
