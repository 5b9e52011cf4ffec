// Shared helpers for the integration tests: plain HTTP to the server under test.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import { encode, decode } from "@msgpack/msgpack";

export const URL_BASE = process.env.SALOG_URL;
export const ADMIN = process.env.SALOG_ADMIN_TOKEN;
export const SERVER = process.env.SALOG_SERVER || "?";
export const PREFIX = new URL(process.env.SALOG_URL || "http://x").pathname.replace(/\/$/, ""); // "" or e.g. /audit
if (!URL_BASE || !ADMIN) throw new Error("SALOG_URL and SALOG_ADMIN_TOKEN must be set (tests/integration/run.sh does)");

const ENVELOPE_KEYS = ["request_id", "request_time", "response_time", "status", "summary", "result"];
const TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

// POST path with body (object → JSON, or msgpack when opts.msgpack); returns {http, headers, body}.
export async function post(path, body, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  let payload;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (opts.msgpack) { payload = encode(body); headers["Content-Type"] = "application/msgpack"; }
  else { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  if (opts.acceptMsgpack) headers["Accept"] = "application/msgpack";
  const res = await fetch(URL_BASE + path, { method: opts.method || "POST", headers, body: payload });
  const buf = Buffer.from(await res.arrayBuffer());
  let parsed;
  const ct = res.headers.get("content-type") || "";
  if (ct.includes("msgpack")) parsed = decode(buf);
  else { try { parsed = JSON.parse(buf.toString("utf8")); } catch { parsed = buf.toString("utf8"); } }
  return { http: res.status, headers: res.headers, body: parsed, raw: buf };
}

// GET path (under the service's base URL, prefix included) or an absolute URL it handed out.
export async function get(path, opts = {}) {
  const headers = {};
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  const res = await fetch(/^https?:/.test(path) ? path : URL_BASE + path, { headers });
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { http: res.status, headers: res.headers, body: parsed };
}

// Asserts the exact Pangea envelope and returns it.
export function envelope(r, http, status) {
  assert.equal(typeof r.body, "object", `not an envelope: ${String(r.raw || r.body).slice(0, 200)}`);
  assert.deepEqual(Object.keys(r.body).sort(), [...ENVELOPE_KEYS].sort(), "envelope keys");
  assert.match(r.body.request_id, /^prq_[a-z2-7]{32}$/);
  assert.match(r.body.request_time, TIME_RE);
  assert.match(r.body.response_time, TIME_RE);
  assert.equal(typeof r.body.summary, "string");
  assert.equal(r.headers.get("x-request-id"), r.body.request_id);
  if (status) assert.equal(r.body.status, status, JSON.stringify(r.body));
  if (http) assert.equal(r.http, http, JSON.stringify(r.body));
  return r.body;
}

// Asserts an error envelope with an item of this code and source.
export function errorItem(r, http, status, code, source) {
  const env = envelope(r, http, status);
  assert.ok(env.result && Array.isArray(env.result.errors) && env.result.errors.length > 0, "errors[] present");
  for (const e of env.result.errors) {
    assert.equal(typeof e.code, "string"); assert.equal(typeof e.detail, "string"); assert.equal(typeof e.source, "string");
  }
  const hit = env.result.errors.find((e) => (code === undefined || e.code === code) && (source === undefined || e.source === source));
  assert.ok(hit, `no error ${code} at ${source} in ${JSON.stringify(env.result.errors)}`);
  return hit;
}

// Runs the admin command against the server's data directory.
export function salogCli(args) {
  return execFileSync(process.env.SALOG_ADMIN_BIN, ["--data", process.env.SALOG_DATA, ...args], {
    encoding: "utf8",
    env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1" },
  });
}

export function newToken(args) {
  const out = salogCli(["token", "create", ...args]).trim().split("\n");
  const id = out[0].replace(/^id: /, "");
  return { id, secret: out[out.length - 1] };
}

// Sends raw bytes over TCP and returns the HTTP status line's code and body text.
export function rawHttp(text) {
  const u = new URL(URL_BASE);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.end(text));
    let data = "";
    sock.setTimeout(10000, () => { sock.destroy(); reject(new Error("raw request timed out")); });
    sock.on("data", (d) => (data += d));
    sock.on("end", () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      const body = data.split("\r\n\r\n").slice(1).join("\r\n\r\n");
      resolve({ http: m ? Number(m[1]) : 0, text: data, body });
    });
    sock.on("error", reject);
  });
}

export function minimalConfig(name, extra = {}) {
  return {
    name, version: 3,
    schema: { tamper_proofing: true, fields: [
      { id: "message", type: "string", size: 32766, required: true },
      { id: "field_int", type: "integer" },
      { id: "tenant_id", type: "string", size: 128 },
    ] },
    ...extra,
  };
}
