// @continuum/client against a small real HTTP server in this file that
// speaks the wave-3 wire protocol (notes/protocol.md) frame by frame: what a
// NEWER server may send (unknown fields, unknown control events, unknown reset
// reasons, events this client cannot read), contract resets, and keyed-state
// snapshots (`snapshot=true`, `continuum.snapshot`, a reset followed by a
// snapshot). Each test scripts the frames the server sends and checks what
// the built package (dist/) delivers, over real sockets with the
// `eventsource` package's EventSource.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, describe, it } from "node:test";
import { EventSource } from "eventsource";
import { subscribe, subscribeState } from "../../dist/index.js";

/** An SSE server; `script(conn)` runs for every `GET`, with `conn.send(frame)` and what the client asked. */
async function sseServer(script) {
  const connections = [];
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("retry: 50\n\n");
    const url = new URL(req.url, "http://x");
    const conn = {
      n: connections.length,
      query: url.searchParams,
      lastEventId: req.headers["last-event-id"] ?? url.searchParams.get("lastEventId") ?? undefined,
      send: (frame) => res.write(frame),
      end: () => res.end(),
    };
    connections.push(conn);
    script(conn);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/api/events`, connections };
}
const servers = [];
after(() => {
  for (const s of servers) s.closeAllConnections?.(), s.close();
});

const connected = (extra = {}) =>
  `event: continuum.connected\ndata: ${JSON.stringify({ connectionId: "c1", epoch: "e1", ...extra })}\n\n`;
const event = (id, type, data, extra = {}) =>
  `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ type, data, ...extra })}\n\n`;
const control = (name, body) => `event: ${name}\ndata: ${JSON.stringify(body)}\n\n`;
const task = (taskId, progress, extra = {}) => ({ taskId, stage: "generating", progress, ...extra });

/** Resolves with the first value `register` reports that satisfies `pred`. */
function next(register, pred = () => true, what = "a value") {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
    const off = register((...values) => {
      if (!pred(...values)) return;
      clearTimeout(timer);
      off();
      resolve(values.length > 1 ? values : values[0]);
    });
  });
}

describe("tolerant reader", () => {
  it("passes unknown fields through, ignores unknown control events, skips what it cannot read, and never throws", async () => {
    const { url } = await sseServer((c) => {
      c.send(connected({ region: "eu-1", features: ["x"] }));
      c.send(control("continuum.future", { whatever: true }));
      c.send(event("1", "ai.task.progress", task("t1", 10, { etaSeconds: 30 }), { version: 3, trace: "abc" }));
      c.send("id: 2\nevent: ai.task.progress\ndata: {not json\n\n");
      c.send(event("3", "ai.task.progress", task("t1", 20)).replace('"type":"ai.task.progress"', '"type":"ai.task.other"'));
      c.send(control("continuum.reset", { reason: "cosmic_ray", extra: 1 }));
      c.send(event("4", "ai.task.progress", task("t1", 40)));
    });
    const errors = [];
    const original = console.error;
    console.error = (e) => errors.push(e);
    const sub = subscribe({ url, types: ["ai.task.*"], EventSource });
    const got = [];
    const resets = [];
    sub.onReset((reason, detail) => resets.push([reason, detail]));
    const hello = next((h) => sub.onConnected(h), undefined, "connected");
    const last = next((h) => sub.on("ai.task.progress", (e) => (got.push(e), h(e))), (e) => e.id === "4", "event 4");
    try {
      assert.equal((await hello).epoch, "e1");
      await last;
    } finally {
      console.error = original;
      sub.close();
    }
    assert.deepEqual(
      got.map((e) => [e.id, e.data.progress]),
      [
        ["1", 10],
        ["4", 40],
      ],
    );
    assert.equal(got[0].data.etaSeconds, 30, "an unknown field reaches the handler untouched");
    assert.equal(sub.skipped, 2, "the non-JSON message and the envelope of another type");
    assert.deepEqual(resets, [["other", { wireReason: "cosmic_ray", types: [] }]]);
    assert.equal(errors.length, 1, "the non-JSON message is reported once, not thrown");
  });
});

describe("contract", () => {
  it("sends contract= and versions= (only versions >= 2) and surfaces a contract reset distinctly", async () => {
    const { url, connections } = await sseServer((c) => {
      c.send(connected());
      c.send(control("continuum.reset", { reason: "contract", types: ["ai.task.progress"], serverVersions: { "ai.task.progress": 3 } }));
    });
    const contract = { fingerprint: "0123456789abcdef", versions: { "ai.task.progress": 2, "media.upload.done": 1, "a.b": 4 } };
    const sub = subscribe({ url, types: ["ai.task.*"], EventSource, contract });
    const resets = [];
    sub.onReset((reason, detail) => resets.push([reason, detail.types]));
    const types = await next((h) => sub.onContractReset(h), undefined, "a contract reset");
    sub.close();
    assert.deepEqual(types, ["ai.task.progress"]);
    assert.deepEqual(resets, [["contract", ["ai.task.progress"]]]);
    const q = connections[0].query;
    assert.equal(q.get("contract"), "0123456789abcdef");
    assert.equal(q.get("versions"), "a.b@4,ai.task.progress@2");
    assert.equal(q.get("types"), "ai.task.*");
    assert.equal(q.get("snapshot"), null, "no snapshot unless asked");
  });

  it("sends neither without a contract, and no versions= when every version is 1", async () => {
    const { url, connections } = await sseServer((c) => c.send(connected()));
    const plain = subscribe({ url, EventSource });
    await next((h) => plain.onConnected(h));
    plain.close();
    const v1 = subscribe({ url, EventSource, contract: { fingerprint: "ffffffffffffffff", versions: { "a.b": 1 } } });
    await next((h) => v1.onConnected(h));
    v1.close();
    assert.equal(connections[0].query.get("contract"), null);
    assert.equal(connections[1].query.get("contract"), "ffffffffffffffff");
    assert.equal(connections[1].query.get("versions"), null);
  });
});

describe("snapshot", () => {
  it("asks with snapshot=true and reports continuum.snapshot after the snapshot's events", async () => {
    const { url, connections } = await sseServer((c) => {
      c.send(connected());
      c.send(event("5", "ai.task.progress", task("a", 5)));
      c.send(event("7", "ai.task.progress", task("b", 7)));
      c.send(control("continuum.snapshot", { count: 2, types: ["ai.task.progress"], future: 1 }));
    });
    const sub = subscribe({ url, types: ["ai.task.progress"], EventSource, snapshot: true });
    const seen = [];
    sub.on("ai.task.progress", (e) => seen.push(e.id));
    const info = await next((h) => sub.onSnapshot(h), undefined, "continuum.snapshot");
    sub.close();
    assert.deepEqual(info, { count: 2, types: ["ai.task.progress"] });
    assert.deepEqual(seen, ["5", "7"], "the snapshot's events came first, in order");
    assert.equal(connections[0].query.get("snapshot"), "true");
  });
});

describe("subscribeState", () => {
  const keys = { "ai.task.progress": "taskId" };

  it("shows the snapshot whole, applies live and conflated events by key, and rebuilds after a reset without an empty moment", async () => {
    const { url, connections } = await sseServer((c) => {
      if (c.n === 0) {
        c.send(connected());
        c.send(event("1", "ai.task.progress", task("a", 10)));
        c.send(event("2", "ai.task.progress", task("b", 20)));
        c.send(control("continuum.snapshot", { count: 2, types: ["ai.task.progress"] }));
        c.send(event("3", "ai.task.progress", task("a", 30)));
        // Conflated for a slow subscriber: the latest per key, as ordinary events.
        c.send(event("6", "ai.task.progress", task("b", 60)));
        c.send(event("7", "ai.task.progress", task("c", 70)));
        // Then the server restarts: the stream ends.
        setTimeout(() => c.end(), 100);
      } else {
        // The restarted server cannot vouch for id 7: reset, then the snapshot.
        c.send(connected({ epoch: "e2" }));
        c.send(control("continuum.reset", { reason: "foreign_epoch" }));
        c.send(event("e2-1", "ai.task.progress", task("c", 90)));
        c.send(event("e2-2", "ai.task.progress", task("d", 5)));
        c.send(control("continuum.snapshot", { count: 2, types: ["ai.task.progress"] }));
        c.send(event("e2-3", "ai.task.progress", task("d", 6)));
      }
    });
    const state = subscribeState("ai.task.progress", { url, keys, EventSource });
    assert.equal(state.ready, false);
    assert.equal(state.state.size, 0);
    const seen = [];
    state.onChange((s) => seen.push([...s].map(([k, v]) => `${k}=${v.progress}`).join(" ")));
    await next((h) => state.onChange(h), (s) => s.get("d")?.progress === 6, "the rebuilt state");
    state.close();
    assert.deepEqual(seen, [
      "a=10 b=20", // the whole snapshot at once
      "a=30 b=20",
      "a=30 b=60",
      "a=30 b=60 c=70",
      "c=90 d=5", // after the reset: the new snapshot replaces the state in one step
      "c=90 d=6",
    ]);
    assert.equal(state.ready, true);
    assert.equal(connections.length, 2);
    assert.equal(connections[0].query.get("snapshot"), "true");
    assert.equal(connections[0].query.get("types"), "ai.task.progress");
    assert.equal(connections[1].query.get("snapshot"), "true", "a reconnect asks for the snapshot too");
    assert.equal(connections[1].lastEventId, "7", "and resumes from the last id");
  });

  it("does not wait forever for a snapshot cut short: a reconnection that replays shows what arrived", async () => {
    const { url, connections } = await sseServer((c) => {
      if (c.n === 0) {
        c.send(connected());
        c.send(event("1", "ai.task.progress", task("a", 10)));
        setTimeout(() => c.end(), 50); // cut before continuum.snapshot
      } else {
        // The last id is still in the buffer: a plain replay, no snapshot.
        c.send(connected());
        c.send(event("2", "ai.task.progress", task("b", 20)));
        c.send(event("3", "ai.task.progress", task("a", 30)));
      }
    });
    const state = subscribeState("ai.task.progress", { url, keys, EventSource });
    const s = await next((h) => state.onChange(h), (s) => s.get("a")?.progress === 30, "the replayed state");
    state.close();
    assert.deepEqual([...s].map(([k, v]) => `${k}=${v.progress}`), ["a=30", "b=20"]);
    assert.equal(connections[1].lastEventId, "1");
  });

  it("ignores an event without a usable key and refuses a type that is not keyed", async () => {
    const { url } = await sseServer((c) => {
      c.send(connected());
      c.send(event("1", "ai.task.progress", { stage: "queued", progress: 0 }));
      c.send(event("2", "ai.task.progress", task("a", 1)));
      c.send(control("continuum.snapshot", { count: 2, types: ["ai.task.progress"] }));
    });
    const state = subscribeState("ai.task.progress", { url, keys, EventSource });
    const s = await next((h) => state.onChange(h), undefined, "the snapshot");
    state.close();
    assert.deepEqual([...s.keys()], ["a"]);
    assert.throws(() => subscribeState("ai.task.progress", { url, keys: {}, EventSource }), /not a keyed event/);
  });
});
