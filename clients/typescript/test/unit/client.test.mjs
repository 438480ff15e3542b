// @continuum/client against the real demo server (`cargo run --example
// ai_progress` in-process, started by `cargo test --test typescript`, which
// passes its URL in CONTINUUM_URL and a control endpoint that restarts the
// server in CONTINUUM_CONTROL). Uses the built package (dist/) and, since
// Node 20 has no EventSource, the `eventsource` package's.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventSource } from "eventsource";
import { publish, subscribe, PublishError } from "../../dist/index.js";

const url = process.env.CONTINUUM_URL;
const control = process.env.CONTINUUM_CONTROL;
if (!url || !control) {
  throw new Error("run through `cargo test --test typescript`: CONTINUUM_URL and CONTINUUM_CONTROL are unset");
}

/** Resolves with the first value `register` reports that satisfies `pred` (a guard timeout fails the test). */
function next(register, pred = () => true, what = "an event") {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 15_000);
    const off = register((value) => {
      if (!pred(value)) return;
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

function open(options = {}) {
  const sub = subscribe({ url, types: ["ai.task.*"], EventSource, ...options });
  const connected = next((h) => sub.onConnected(h), undefined, "continuum.connected");
  return { sub, connected };
}

let n = 0;
function progress(stage = "generating", value = 42) {
  n += 1;
  return { type: "ai.task.progress", data: { taskId: `node-${process.pid}-${n}`, stage, progress: value } };
}

describe("subscribe", () => {
  it("starts connecting, opens, and delivers typed events with their id and type", async () => {
    const statuses = [];
    const { sub, connected } = open();
    assert.equal(sub.status, "connecting");
    sub.onStatus((s) => statuses.push(s));
    const hello = await connected;
    assert.equal(typeof hello.connectionId, "string");
    assert.equal(typeof hello.epoch, "string");
    assert.equal(sub.status, "open");

    const event = progress("prompting", 10);
    const received = next((h) => sub.on("ai.task.progress", h), (e) => e.data.taskId === event.data.taskId);
    const { id } = await publish(url, event);
    const got = await received;
    assert.deepEqual({ ...got }, { id, type: "ai.task.progress", data: event.data });
    assert.equal(sub.lastEventId, id);
    sub.close();
    assert.equal(sub.status, "closed");
    assert.deepEqual(statuses, ["open", "closed"]);
  });

  it("resumes after its last id: a new subscription gets exactly what it missed, without a reset", async () => {
    const first = open();
    await first.connected;
    const a = progress();
    const gotA = next((h) => first.sub.on("ai.task.progress", h), (e) => e.data.taskId === a.data.taskId);
    await publish(url, a);
    const seen = (await gotA).id;
    first.sub.close();

    const missed = [progress(), progress()];
    const { ids } = await publish(url, missed);
    const resets = [];
    const later = subscribe({ url, types: ["ai.task.*"], EventSource, lastEventId: seen });
    later.onReset((r) => resets.push(r));
    const replayed = [];
    await next(
      (h) => later.on("ai.task.progress", h),
      (e) => {
        if (ids.includes(e.id)) replayed.push(e.id);
        return replayed.length === 2;
      },
      "the two missed events",
    );
    assert.deepEqual(replayed, ids);
    assert.deepEqual(resets, []);
    later.close();
  });

  it("reports a reset when the server cannot vouch for the last id", async () => {
    const sub = subscribe({ url, EventSource, lastEventId: "not-an-id-this-server-issued" });
    const reason = await next((h) => sub.onReset(h), undefined, "continuum.reset");
    assert.equal(reason, "unknown_id");
    sub.close();
  });

  it("survives a server restart: reconnecting, open again, a foreign_epoch reset, then new events", async () => {
    const statuses = [];
    const { sub, connected } = open();
    sub.onStatus((s) => statuses.push(s));
    const before = await connected;
    const warm = progress();
    const gotWarm = next((h) => sub.on("ai.task.progress", h), (e) => e.data.taskId === warm.data.taskId);
    await publish(url, warm);
    await gotWarm;

    const reconnecting = next((h) => sub.onStatus(h), (s) => s === "reconnecting", "reconnecting");
    const reset = next((h) => sub.onReset(h), undefined, "a reset after the restart");
    const reconnected = next((h) => sub.onConnected(h), undefined, "a new continuum.connected");
    const restarted = await fetch(`${control}/restart`, { method: "POST" });
    assert.equal(restarted.status, 200);
    await reconnecting;
    const after = await reconnected;
    assert.notEqual(after.epoch, before.epoch, "a restarted server has a new epoch");
    assert.equal(await reset, "foreign_epoch");
    assert.deepEqual(statuses.slice(-2), ["reconnecting", "open"]);

    const fresh = progress("done", 100);
    const gotFresh = next((h) => sub.on("ai.task.progress", h), (e) => e.data.taskId === fresh.data.taskId);
    const { id } = await publish(url, fresh);
    assert.equal((await gotFresh).id, id);
    sub.close();
  });

  it("keeps delivering to other handlers when one throws", async () => {
    const { sub, connected } = open();
    await connected;
    const errors = [];
    const original = console.error;
    console.error = (e) => errors.push(e);
    try {
      sub.on("ai.task.progress", () => {
        throw new Error("a broken handler");
      });
      const event = progress();
      const got = next((h) => sub.on("ai.task.progress", h), (e) => e.data.taskId === event.data.taskId);
      await publish(url, event);
      await got;
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /a broken handler/);
    } finally {
      console.error = original;
      sub.close();
    }
  });

  it("needs an EventSource where the platform has none", () => {
    assert.throws(() => subscribe({ url }), /no EventSource here/);
  });
});

describe("publish", () => {
  it("answers the ids, and a retry with the same idempotency key publishes once", async () => {
    const event = progress();
    const key = `node-${process.pid}-${Date.now()}`;
    const first = await publish(url, event, { idempotencyKey: key });
    const retry = await publish(url, event, { idempotencyKey: key });
    assert.equal(first.replayed, false);
    assert.equal(retry.replayed, true);
    assert.deepEqual(retry.ids, first.ids);
    assert.equal(first.ids.length, 1);
    assert.equal(first.id, first.ids[0]);
  });

  it("publishes an array all-or-nothing and answers every id in order", async () => {
    const { ids } = await publish(url, [progress(), progress(), progress()]);
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 3);
  });

  it("throws a PublishError with every validation issue, in wire names", async () => {
    const bad = { type: "ai.task.progress", data: { taskId: "", stage: "finished", progress: 101 } };
    const error = await publish(url, bad).then(
      () => assert.fail("the server accepted an invalid event"),
      (e) => e,
    );
    assert.ok(error instanceof PublishError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "invalid_event");
    const paths = error.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ["data.progress", "data.stage", "data.taskId"]);
    for (const issue of error.issues) assert.equal(typeof issue.message, "string");
  });

  it("throws unknown_type for an event the server does not know", async () => {
    const error = await publish(url, { type: "ai.task.cancelled", data: {} }).catch((e) => e);
    assert.ok(error instanceof PublishError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "unknown_type");
  });
});

describe("reconnect when the browser gives up", () => {
  it("opens a new EventSource with backoff, resuming with ?lastEventId=", async () => {
    // The server refuses this filter (400 invalid_types): an EventSource
    // closes for good on an HTTP error, so the client must retry itself.
    const urls = [];
    let constructed = () => {};
    class Recording extends EventSource {
      constructor(u, init) {
        super(u, init);
        urls.push(u);
        constructed(urls.length);
      }
    }
    const sub = subscribe({
      url,
      types: ["Not A Type"],
      lastEventId: "resume-here",
      EventSource: Recording,
      retry: { minDelayMs: 20, maxDelayMs: 40 },
    });
    const statuses = [];
    sub.onStatus((s) => statuses.push(s));
    await next((h) => {
      constructed = h;
      return () => (constructed = () => {});
    }, (count) => count >= 3, "two retries");
    sub.close();
    assert.equal(statuses[0], "reconnecting");
    assert.equal(statuses.at(-1), "closed");
    assert.ok(!statuses.includes("open"));
    for (const u of urls) {
      assert.match(u, /[?&]types=Not%20A%20Type(&|$)/);
      assert.match(u, /[?&]lastEventId=resume-here(&|$)/);
    }
    const count = urls.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(urls.length, count, "no retry after close()");
  });
});
