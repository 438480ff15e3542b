// Bundled from clients/typescript/demo/page.ts by `npm run bundle:demo`. Do not edit.
"use strict";
(() => {
  // src/types.ts
  var RESET_REASONS = [
    "evicted",
    "foreign_epoch",
    "unknown_id",
    "lagged",
    "stream_lost",
    "expired",
    "contract",
    "other"
  ];

  // src/subscribe.ts
  var CONNECTED_EVENT = "continuum.connected";
  var RESET_EVENT = "continuum.reset";
  var SNAPSHOT_EVENT = "continuum.snapshot";
  var CLOSED = 2;
  function subscribe(options) {
    return new Live(options);
  }
  var Live = class {
    #status = "connecting";
    #lastEventId;
    #source;
    /** Event types listened to on the current source. */
    #attached = /* @__PURE__ */ new Set();
    #handlers = /* @__PURE__ */ new Map();
    #timer;
    #failures = 0;
    #skipped = 0;
    #url;
    #withCredentials;
    #EventSource;
    #minDelay;
    #maxDelay;
    constructor(options) {
      const ctor = options.EventSource ?? globalThis.EventSource;
      if (ctor === void 0) {
        throw new TypeError(
          '@continuum/client: no EventSource here; pass one, e.g. subscribe({ url, EventSource }) with `import { EventSource } from "eventsource"` in Node'
        );
      }
      this.#EventSource = ctor;
      let url = withQuery(options.url, "types", options.types?.length ? options.types.join(",") : void 0);
      if (options.contract) {
        url = withQuery(url, "contract", options.contract.fingerprint);
        url = withQuery(url, "versions", versionsParam(options.contract));
      }
      if (options.snapshot) url = withQuery(url, "snapshot", "true");
      this.#url = url;
      this.#withCredentials = options.withCredentials ?? true;
      this.#lastEventId = options.lastEventId;
      this.#minDelay = options.retry?.minDelayMs ?? 1e3;
      this.#maxDelay = options.retry?.maxDelayMs ?? 3e4;
      this.#open();
    }
    get status() {
      return this.#status;
    }
    get lastEventId() {
      return this.#lastEventId;
    }
    get skipped() {
      return this.#skipped;
    }
    on(type, handler) {
      const off = this.#add(type, handler);
      if (this.#source && !this.#attached.has(type)) this.#listen(this.#source, type);
      return off;
    }
    onReset(handler) {
      return this.#add(RESET_EVENT, handler);
    }
    onContractReset(handler) {
      return this.#add(" contract", handler);
    }
    onSnapshot(handler) {
      return this.#add(SNAPSHOT_EVENT, handler);
    }
    onStatus(handler) {
      return this.#add(" status", handler);
    }
    onConnected(handler) {
      return this.#add(CONNECTED_EVENT, handler);
    }
    onLastEventId(handler) {
      return this.#add(" id", handler);
    }
    close() {
      if (this.#status === "closed") return;
      clearTimeout(this.#timer);
      this.#source?.close();
      this.#source = void 0;
      this.#setStatus("closed");
      this.#handlers.clear();
    }
    #add(key2, handler) {
      let set = this.#handlers.get(key2);
      if (!set) this.#handlers.set(key2, set = /* @__PURE__ */ new Set());
      set.add(handler);
      return () => {
        set.delete(handler);
      };
    }
    #emit(key2, ...args) {
      const set = this.#handlers.get(key2);
      if (!set) return;
      for (const handler of [...set]) {
        try {
          handler(...args);
        } catch (error) {
          report(error);
        }
      }
    }
    #open() {
      const url = withQuery(this.#url, "lastEventId", this.#lastEventId);
      const source = new this.#EventSource(url, { withCredentials: this.#withCredentials });
      this.#source = source;
      this.#attached = /* @__PURE__ */ new Set();
      source.addEventListener("open", () => {
        if (this.#source !== source) return;
        this.#failures = 0;
        this.#setStatus("open");
      });
      source.addEventListener("error", () => {
        if (this.#source !== source) return;
        this.#setStatus("reconnecting");
        if (source.readyState === CLOSED) {
          source.close();
          const delay = Math.min(this.#maxDelay, this.#minDelay * 2 ** this.#failures);
          this.#failures += 1;
          this.#timer = setTimeout(() => {
            if (this.#source === source) this.#open();
          }, delay * (0.75 + Math.random() * 0.5));
        }
      });
      source.addEventListener(CONNECTED_EVENT, (e) => {
        if (this.#source !== source) return;
        this.#noteId(e.lastEventId);
        const connected = parse(e.data);
        if (connected) this.#emit(CONNECTED_EVENT, connected);
      });
      source.addEventListener(RESET_EVENT, (e) => {
        if (this.#source !== source) return;
        this.#noteId(e.lastEventId);
        const body = object(parse(e.data));
        const wireReason = typeof body.reason === "string" ? body.reason : "other";
        const known = RESET_REASONS.includes(wireReason) && wireReason !== "other";
        const reason = known ? wireReason : "other";
        const types = Array.isArray(body.types) ? body.types.filter((t) => typeof t === "string") : [];
        const detail = { wireReason, types };
        this.#emit(RESET_EVENT, reason, detail);
        if (reason === "contract") this.#emit(" contract", types);
      });
      source.addEventListener(SNAPSHOT_EVENT, (e) => {
        if (this.#source !== source) return;
        const body = object(parse(e.data));
        const count = typeof body.count === "number" ? body.count : 0;
        const types = Array.isArray(body.types) ? body.types.filter((t) => typeof t === "string") : [];
        this.#emit(SNAPSHOT_EVENT, { count, types });
      });
      for (const type of this.#handlers.keys()) {
        if (!type.startsWith(" ") && !CONTROL.has(type)) {
          this.#listen(source, type);
        }
      }
    }
    #listen(source, type) {
      this.#attached.add(type);
      source.addEventListener(type, (e) => {
        if (this.#source !== source) return;
        this.#noteId(e.lastEventId);
        const envelope = parse(e.data);
        if (typeof envelope !== "object" || envelope === null || envelope.type !== void 0 && envelope.type !== type) {
          this.#skipped += 1;
          return;
        }
        this.#emit(type, { id: e.lastEventId, type, data: envelope.data ?? null });
      });
    }
    #noteId(id) {
      if (!id || id === this.#lastEventId) return;
      this.#lastEventId = id;
      this.#emit(" id", id);
    }
    #setStatus(status) {
      if (this.#status === status) return;
      this.#status = status;
      this.#emit(" status", status);
    }
  };
  var CONTROL = /* @__PURE__ */ new Set([CONNECTED_EVENT, RESET_EVENT, SNAPSHOT_EVENT]);
  function object(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
  }
  function versionsParam(contract) {
    const listed = Object.entries(contract.versions).filter(([, v]) => v >= 2).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([t, v]) => `${t}@${v}`);
    return listed.length ? listed.join(",") : void 0;
  }
  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      report(new Error(`@continuum/client: a message that is not JSON: ${String(error)}`));
      return void 0;
    }
  }
  function report(error) {
    const g = globalThis;
    if (typeof g.reportError === "function") g.reportError(error);
    else console.error(error);
  }
  function withQuery(url, key2, value) {
    if (value === void 0 || value === "") return url;
    const hash = url.indexOf("#");
    const base = hash < 0 ? url : url.slice(0, hash);
    const sep = base.includes("?") ? "&" : "?";
    const encoded = value.split(",").map((v) => encodeURIComponent(v).replace(/%40/g, "@")).join(",");
    return `${base}${sep}${key2}=${encoded}`;
  }

  // demo/page.ts
  var config = window.CONTINUUM_CONFIG;
  var statusEl = document.getElementById("status");
  var tasksEl = document.getElementById("tasks");
  var logEl = document.getElementById("log");
  var rows = /* @__PURE__ */ new Map();
  function setStatus(state, text = state) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }
  function log(kind, id, data) {
    const line = `${(/* @__PURE__ */ new Date()).toISOString().slice(11, 23)}  ${kind}${id ? "  #" + id : ""}  ${data}
`;
    logEl.textContent = (line + logEl.textContent).slice(0, 2e4);
  }
  function renderTask(task) {
    let row = rows.get(task.taskId);
    if (!row) {
      document.getElementById("empty")?.remove();
      row = document.createElement("div");
      row.className = "task";
      row.dataset.taskId = task.taskId;
      row.innerHTML = '<span class="id"></span><span class="stage"></span><progress max="100" value="0"></progress><span class="pct"></span>';
      row.querySelector(".id").textContent = task.taskId;
      tasksEl.appendChild(row);
      rows.set(task.taskId, row);
    }
    row.dataset.stage = task.stage;
    row.dataset.progress = String(task.progress);
    row.dataset.done = String(task.stage === "done");
    row.querySelector(".stage").textContent = task.stage;
    row.querySelector("progress").value = task.progress;
    row.querySelector(".pct").textContent = `${task.progress}%`;
    if (rows.size > 12) {
      for (const [id, old] of rows) {
        if (old.dataset.stage === "done" || old.dataset.stage === "failed") {
          old.remove();
          rows.delete(id);
          break;
        }
      }
    }
  }
  var events = subscribe({ url: config.path, types: ["ai.task.*"] });
  events.on("ai.task.progress", (event) => {
    renderTask(event.data);
    log(event.type, event.id, JSON.stringify(event.data));
  });
  events.onStatus((status) => {
    if (status === "open") setStatus("connected");
    else setStatus(status);
  });
  events.onConnected((connected) => log("continuum.connected", "", JSON.stringify(connected)));
  events.onReset((reason) => {
    setStatus("reset", `connected · reset (${reason}): state resynced`);
    log("continuum.reset", events.lastEventId ?? "", reason);
  });
  document.getElementById("node").textContent = config.node ? `served by ${config.node}` : "";
  var origin = window.location.origin;
  var key = config.tokenRequired ? "  -H 'x-continuum-event-key: $CONTINUUM_EVENT_INGEST_TOKEN' \\\n" : "";
  document.getElementById("curl").textContent = `curl -i -X POST ${origin}${config.path} \\
  -H 'content-type: application/json' \\
${key}  -d '{"type":"ai.task.progress","data":{"taskId":"from-curl","stage":"generating","progress":42}}'`;
  document.getElementById("token-mode").textContent = config.tokenRequired ? "Ingest requires the token in x-continuum-event-key (CONTINUUM_EVENT_INGEST_TOKEN)." : "Ingest is open: no CONTINUUM_EVENT_INGEST_TOKEN is set (fine for local development only).";
  window.continuum = events;
})();
