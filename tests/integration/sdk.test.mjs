// Tamper-evident logging through the web server with the official Node client
// (pangea-node-sdk 5.6.0), plus the wire details the SDK does not check itself.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import { post, get, envelope, errorItem, newToken, salogCli, minimalConfig, URL_BASE, SERVER } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { PangeaConfig, AuditService } = require("pangea-node-sdk");

// The SDK does not export its Signer (5.6.0); any object with these three methods works.
function localSigner() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
  return {
    sign: (data) => crypto.sign(null, Buffer.from(data, "utf8"), privateKey).toString("base64"),
    getPublicKey: () => publicKey.export({ type: "spki", format: "pem" }),
    getAlgorithm: () => "ED25519",
  };
}

const sha256 = (b) => crypto.createHash("sha256").update(b).digest();
const hex = (b) => Buffer.from(b).toString("hex");

function audit(token, configId) {
  const cfg = new PangeaConfig({ baseUrlTemplate: URL_BASE, requestRetries: 0, requestTimeout: 20000, pollResultTimeoutMs: 20000 });
  return new AuditService(token, cfg, undefined, configId);
}

// SDK-style consistency verification (API.md II §4.4).
function verifyConsistency(items, oldRootHex, newRootHex) {
  const parsed = items.map((it) => {
    const [head, ...path] = it.split(",");
    return { hash: head.split(":")[1], path: path.join(",") };
  });
  let r = Buffer.from(parsed[0].hash, "hex");
  for (let j = 1; j < parsed.length; j++) r = sha256(Buffer.concat([Buffer.from(parsed[j].hash, "hex"), r]));
  if (hex(r) !== oldRootHex) return false;
  return parsed.every((p) => verifyMembership(p.hash, p.path, newRootHex));
}

// SDK-style membership verification of a proof text.
function verifyMembership(leafHex, proof, rootHex) {
  let h = Buffer.from(leafHex, "hex");
  if (proof) for (const item of proof.split(",")) {
    const [side, s] = item.split(":");
    const sib = Buffer.from(s, "hex");
    h = side === "l" ? sha256(Buffer.concat([sib, h])) : sha256(Buffer.concat([h, sib]));
  }
  return hex(h) === rootHex;
}

describe(`tamper-evident logging via ${SERVER}`, () => {
  let token, configId;
  before(async () => {
    const r = await post("/v1beta/config/create", minimalConfig(`sdk-${Date.now()}`, {
      schema: { tamper_proofing: true, client_signable: true, fields: [
        { id: "message", type: "string", size: 32766, required: true }, { id: "actor", type: "string", size: 128 },
        { id: "action", type: "string", size: 32 }, { id: "status", type: "string", size: 32 },
        { id: "tenant_id", type: "string", size: 128 }, { id: "field_int", type: "integer" },
        { id: "field_bool", type: "boolean" }, { id: "field_time", type: "datetime" }] },
    }));
    configId = envelope(r, 200, "Success").result.id;
    token = newToken(["--scope", "log,search", "--config", configId, "--name", "sdk"]).secret;
  });

  it("logs with verify three times: membership and consistency pass", async () => {
    const a = audit(token);
    for (let i = 0; i < 3; i++) {
      const r = await a.log({ message: `verified ${i}`, actor: "alice", action: "login" }, { verify: true });
      assert.equal(r.status, "Success");
      assert.match(r.result.hash, /^[0-9a-f]{64}$/);
      assert.match(r.result.envelope.received_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.equal(r.result.membership_verification, "pass");
      assert.equal(r.result.consistency_verification, i === 0 ? "none" : "pass", `call ${i}`);
    }
  });

  it("logs a locally signed event; the server verifies and stores the signature", async () => {
    const a = audit(token);
    const r = await a.log({ message: "signed", status: "ok" }, { verbose: true, signer: localSigner() });
    assert.equal(r.status, "Success");
    assert.equal(r.result.signature_verification, "pass");
    assert.ok(r.result.envelope.signature && r.result.envelope.public_key);
  });

  it("rejects a forged signature with a clear ValidationError", async () => {
    const s = localSigner();
    const sig = s.sign('{"message":"original"}');
    const r = await post("/v1/log", { event: { message: "forged" }, signature: sig,
      public_key: JSON.stringify({ algorithm: "ED25519", key: s.getPublicKey() }) }, { token });
    errorItem(r, 400, "ValidationError", undefined, "/signature");
    const bad = await post("/v1/log", { event: { message: "x" }, signature: "not base64!!", public_key: "abc" }, { token });
    envelope(bad, 400, "ValidationError");
  });

  it("logs a bulk of 1000 with v2/log, results in input order", async () => {
    const a = audit(token);
    const events = Array.from({ length: 1000 }, (_, i) => ({ message: `bulk ${i}`, actor: "bulk" }));
    const r = await a.logBulk(events, { verbose: true });
    assert.equal(r.status, "Success");
    assert.equal(r.result.results.length, 1000);
    r.result.results.forEach((x, i) => assert.equal(x.envelope.event.message, `bulk ${i}`));
  });

  it("rejects a bad batch whole, naming the item", async () => {
    const events = [{ event: { message: "ok" } }, { event: { message: "ok" } }, { event: { message: "ok" } }, { event: { message: 5 } }];
    errorItem(await post("/v2/log", { events }, { token }), 400, "ValidationError", "InvalidString", "/events/3/event/message");
    errorItem(await post("/v2/log", { events: [] }, { token }), 400, "ValidationError", "BelowMinItems", "/events");
    const many = Array.from({ length: 1001 }, () => ({ event: { message: "m" } }));
    errorItem(await post("/v2/log", { events: many }, { token }), 400, "ValidationError", "AboveMaxItems", "/events");
  });

  it("log_async answers 202 and the poll returns the v2/log result", async () => {
    const a = audit(token);
    const r = await a.logBulkAsync([{ message: "async 1" }, { message: "async 2" }], { verbose: true });
    assert.equal(r.status, "Accepted");
    const id = r.request_id;
    assert.match(id, /^prq_[a-z2-7]{32}$/);
    const done = await a.pollResult(id);
    assert.equal(done.status, "Success");
    assert.equal(done.result.results.length, 2);
    assert.equal(done.result.results[1].envelope.event.message, "async 2");
    // Another token may not read it.
    const other = newToken(["--scope", "log", "--config", configId]).secret;
    errorItem(await get(`/request/${id}`, { token: other }), 401, "Unauthorized");
    errorItem(await get(`/request/prq_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`, { token }), 404, "NotFound");
  });

  it("serves roots and signed checkpoints after salog publish", async () => {
    const a = audit(token);
    // A tree with no events has no checkpoint yet.
    const empty = envelope(await post("/v1beta/config/create", minimalConfig(`empty-${Date.now()}`)), 200, "Success").result;
    errorItem(await post("/v1/root", { config_id: empty.id }), 200, "TreeNotFound", "TreeNotFound");
    salogCli(["publish", "--config", configId]);
    const r = await a.root();
    assert.equal(r.status, "Success");
    const root = r.result.data;
    assert.match(root.tree_name, /^[0-9a-f]{64}$/);
    assert.ok(root.size >= 1006);
    assert.match(root.url, /\/v1\/published\//);
    const doc = await get(root.url, { token: null });
    assert.equal(doc.http, 200);
    assert.equal(doc.body.root_hash, root.root_hash);
    // The signature covers the canonical JSON of the four members (README).
    const signed = JSON.stringify({ published_at: doc.body.published_at, root_hash: doc.body.root_hash, size: doc.body.size, tree_name: doc.body.tree_name });
    const pk = crypto.createPublicKey(JSON.parse(doc.body.public_key).key);
    assert.ok(crypto.verify(null, Buffer.from(signed), pk, Buffer.from(doc.body.signature, "base64")), "checkpoint signature");
    const key = await get(`/v1/published/${root.tree_name}/key`, { token: null });
    assert.equal(key.body.algorithm, "ED25519");
    // Every size up to the checkpoint, with the consistency proof size-1 -> size.
    const r5 = (await a.root(5)).result.data;
    const r4 = (await a.root(4)).result.data;
    assert.equal(r5.size, 5);
    assert.ok(verifyConsistency(r5.consistency_proof, r4.root_hash, r5.root_hash), "root 5's proof from size 4 verifies");
    errorItem(await post("/v1/root", { tree_size: root.size + 1 }, { token }), 200, "TreeNotFound");
    errorItem(await post("/v1/root", { tree_size: 0 }, { token }), 400, "ValidationError", "NotWithinRange", "/tree_size");
  });

  it("returns proofs that verify against the unpublished root", async () => {
    const r = await post("/v1/log", { event: { message: "proof me", field_int: 7, field_bool: true, field_time: "2025-01-02T10:00:00.000Z" }, verbose: true }, { token });
    const res = envelope(r, 200, "Success").result;
    assert.ok(verifyMembership(res.hash, res.membership_proof, res.unpublished_root));
    assert.equal(res.envelope.event.field_int, 7);
    assert.equal(res.consistency_proof, undefined);
    const r2 = await post("/v1/log", { event: { message: "next" }, verbose: true, prev_root: res.unpublished_root }, { token });
    const res2 = envelope(r2, 200, "Success").result;
    assert.ok(verifyConsistency(res2.consistency_proof, res.unpublished_root, res2.unpublished_root),
      "prev_root's consistency proof verifies");
    const nv = await post("/v1/log", { event: { message: "quiet" } }, { token });
    assert.deepEqual(Object.keys(envelope(nv, 200, "Success").result), ["hash"]);
  });

  it("validates events against the schema with precise sources", async () => {
    errorItem(await post("/v1/log", { event: { actor: "x" } }, { token }), 400, "ValidationError", "FieldRequired", "/event/message");
    errorItem(await post("/v1/log", { event: { message: "m", colour: "red" } }, { token }), 400, "ValidationError", undefined, "/event/colour");
    errorItem(await post("/v1/log", { event: { message: "m", action: "a".repeat(33) } }, { token }), 400, "ValidationError", "AboveMaxLength", "/event/action");
    const ok = await post("/v1/log", { event: { message: "m", action: "é".repeat(32) } }, { token });
    envelope(ok, 200, "Success");
    errorItem(await post("/v1/log", { event: { message: null } }, { token }), 400, "ValidationError", undefined, "/event/message");
    errorItem(await post("/v1/log", { event: { message: "m", field_int: 1.5 } }, { token }), 400, "ValidationError", undefined, "/event/field_int");
    errorItem(await post("/v1/log", { event: "text" }, { token }), 400, "ValidationError", "InvalidObject", "/event");
    errorItem(await post("/v1/log", {}, { token }), 400, "ValidationError", "FieldRequired", "/event");
    errorItem(await post("/v1/log", { event: { message: "m" }, prev_root: "XYZ" }, { token }), 400, "ValidationError", "DoesNotMatchPattern", "/prev_root");
  });

  it("enforces token field restrictions with ForbiddenFieldValue", async () => {
    const t = newToken(["--scope", "log", "--config", configId, "--restrict", "tenant_id=t1,t2"]).secret;
    envelope(await post("/v1/log", { event: { message: "m", tenant_id: "t1" } }, { token: t }), 200, "Success");
    errorItem(await post("/v1/log", { event: { message: "m", tenant_id: "t3" } }, { token: t }), 403, "ForbiddenFieldValue", "ForbiddenFieldValue", "/event/tenant_id");
    errorItem(await post("/v1/log", { event: { message: "m" } }, { token: t }), 403, "ForbiddenFieldValue", "ForbiddenFieldValue", "/event/tenant_id");
    errorItem(await post("/v2/log", { events: [{ event: { message: "m", tenant_id: "t1" } }, { event: { message: "m", tenant_id: "zz" } }] }, { token: t }),
      403, "ForbiddenFieldValue", "ForbiddenFieldValue", "/events/1/event/tenant_id");
  });

  it("hashes the same event the same whether sent as JSON or MessagePack", async () => {
    const ev = { event: { message: "codec-é", actor: "a" }, verbose: true };
    const j = envelope(await post("/v1/log", ev, { token }), 200, "Success").result;
    const m = envelope(await post("/v1/log", ev, { token, msgpack: true, acceptMsgpack: true }), 200, "Success").result;
    const canon = (e) => JSON.stringify({ event: Object.fromEntries(Object.entries(e.event).sort()), received_at: e.received_at });
    assert.deepEqual(m.envelope.event, j.envelope.event, "the MessagePack event is stored exactly as the JSON one");
    assert.equal(hex(sha256(Buffer.from(canon(j.envelope)))), j.hash);
    assert.equal(hex(sha256(Buffer.from(canon(m.envelope)))), m.hash);
    // and the same envelope hashes the same whichever codec carried it
    assert.equal(hex(sha256(Buffer.from(canon({ event: m.envelope.event, received_at: j.envelope.received_at })))), j.hash);
  });

  it("answers log_stream with InvalidSchema", async () => {
    errorItem(await post("/v1/log_stream", { logs: [] }, { token }), 400, "InvalidSchema", "InvalidSchema");
  });

  it("seals checkpoints in the background every publish interval (no salog publish)", async () => {
    const c = envelope(await post("/v1beta/config/create", minimalConfig(`bg-${Date.now()}`)), 200, "Success").result;
    const t = newToken(["--scope", "log,search", "--config", c.id]).secret;
    for (let i = 0; i < 3; i++) envelope(await post("/v1/log", { event: { message: `bg ${i}` } }, { token: t }), 200, "Success");
    // run.sh starts the workers with SALOG_PUBLISH_INTERVAL=2.
    const start = Date.now();
    let root;
    while (Date.now() - start < 15000) {
      const r = await post("/v1/root", {}, { token: t });
      if (r.body.status === "Success" && r.body.result.data.size === 3) { root = r.body.result.data; break; }
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.ok(root, "no checkpoint of size 3 was sealed within 15 s");
    const doc = await get(root.url, { token: null });
    assert.equal(doc.body.size, 3);
    console.log(`# ${SERVER}: background checkpoint after ${Date.now() - start} ms`);
  });

  it("signs events with the server key for vault_sign configs", async () => {
    const c = envelope(await post("/v1beta/config/create", minimalConfig(`vs-${Date.now()}`, { vault_sign: true, vault_key_id: "k1" })), 200, "Success").result;
    const t = newToken(["--scope", "log", "--config", c.id]).secret;
    const r = envelope(await post("/v1/log", { event: { message: "vault signed" }, verbose: true }, { token: t }), 200, "Success").result;
    const pk = JSON.parse(r.envelope.public_key);
    assert.equal(pk.algorithm, "ED25519");
    assert.equal(pk.vault_key_id, "k1");
    assert.ok(crypto.verify(null, Buffer.from(JSON.stringify({ message: "vault signed" })), crypto.createPublicKey(pk.key),
      Buffer.from(r.envelope.signature, "base64")), "server signature verifies");
  });

  it("stores malformed events with envelope.err under save_malformed all", async () => {
    const cfg = minimalConfig(`sm-${Date.now()}`);
    cfg.schema.save_malformed = "all";
    const c = envelope(await post("/v1beta/config/create", cfg), 200, "Success").result;
    const t = newToken(["--scope", "log", "--config", c.id]).secret;
    const r = envelope(await post("/v1/log", { event: { message: "m", field_int: "not a number", extra: "x" }, verbose: true }, { token: t }), 200, "Success").result;
    assert.equal(r.envelope.event.field_int, "not a number");
    assert.ok(Array.isArray(r.envelope.err) && r.envelope.err.length === 2, JSON.stringify(r.envelope));
    assert.deepEqual(r.envelope.err.map((e) => e.field).sort(), ["extra", "field_int"]);
    const canon = (v) => Array.isArray(v) ? `[${v.map(canon).join(",")}]` : v && typeof v === "object"
      ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}` : JSON.stringify(v);
    assert.equal(crypto.createHash("sha256").update(canon(r.envelope)).digest("hex"), r.hash);
    // A required field is never optional, whatever save_malformed says.
    errorItem(await post("/v1/log", { event: { extra: "x" } }, { token: t }), 400, "ValidationError", "FieldRequired", "/event/message");
  });

  it("logs the event that tamper.sh later flips a byte of", async () => {
    const r = envelope(await post("/v1/log", { event: { message: "tamper target 7f3a" }, verbose: true }, { token }), 200, "Success");
    // tamper.sh also zeroes the stored root of the size this event made.
    assert.match(r.result.unpublished_root, /^[0-9a-f]{64}$/);
    fs.writeFileSync(`${process.env.SALOG_DATA}/../tamper-root.hex`, r.result.unpublished_root);
  });

  it("salog verify passes on the live log", () => {
    const out = salogCli(["verify", "--config", configId]);
    assert.match(out, /ok/);
  });

  it("salog stats counts, and salog backup makes a copy that verifies, while the service runs", () => {
    const stats = salogCli(["stats"]);
    assert.match(stats, new RegExp(`config ${configId}\\t\\S+\\tevents \\d+\\tpublished \\d+`));
    assert.match(stats, /^tokens \d+ \(active \d+\)$/m);
    // the copy belongs to the data directory's owner (www-data under Apache)
    const dest = fs.mkdtempSync("/tmp/salog-backup-");
    const owner = fs.statSync(process.env.SALOG_DATA);
    fs.chownSync(dest, owner.uid, owner.gid);
    try {
      assert.match(salogCli(["backup", dest]), /backed up/);
      const verified = salogCli(["--data", dest, "verify", "--config", configId]);
      assert.match(verified, /ok, \d+ events/);
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
  });
});
