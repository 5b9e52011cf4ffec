// Search, paging, downloads and export through the web server, with the
// official Node client verifying membership and consistency proofs.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { post, get, envelope, errorItem, newToken, salogCli, minimalConfig, URL_BASE, SERVER } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { PangeaConfig, AuditService } = require("pangea-node-sdk");

// The SDK asks arweave.net for published roots whenever a reply carries `root`;
// answer it locally with "no transactions" so it falls back to salog's /v1/root
// for every size it needs (API.md II §4.5). Nothing leaves the machine.
const realFetch = globalThis.fetch;
let arweaveCalls = 0;
globalThis.fetch = async (url, init) => {
  if (String(url).startsWith("https://arweave.net")) {
    arweaveCalls++;
    return new Response(JSON.stringify({ data: { transactions: { edges: [] } } }), { status: 200, headers: { "content-type": "application/json" } });
  }
  return realFetch(url, init);
};

function audit(token) {
  const cfg = new PangeaConfig({ baseUrlTemplate: URL_BASE, requestRetries: 0, requestTimeout: 20000, pollResultTimeoutMs: 30000 });
  return new AuditService(token, cfg);
}

async function fetchGzip(url, headers = {}) {
  const res = await realFetch(url, { headers });
  const buf = Buffer.from(await res.arrayBuffer());
  return { res, text: res.ok ? zlib.gunzipSync(buf).toString("utf8") : buf.toString("utf8") };
}

const tag = `s${Date.now().toString(36)}`;

describe(`search via ${SERVER}`, () => {
  let token, restricted, configId;
  before(async () => {
    const cfg = minimalConfig(`search-${tag}`, {
      schema: { tamper_proofing: true, fields: [
        { id: "message", type: "string", size: 32766, required: true }, { id: "actor", type: "string", size: 128 },
        { id: "action", type: "string", size: 32 }, { id: "tenant_id", type: "string", size: 128 },
        { id: "count", type: "integer" }, { id: "at", type: "datetime" }] },
    });
    configId = envelope(await post("/v1beta/config/create", cfg), 200, "Success").result.id;
    token = newToken(["--scope", "log,search", "--config", configId]).secret;
    restricted = newToken(["--scope", "search", "--config", configId, "--restrict", "tenant_id=t1"]).secret;
    const events = [];
    for (let i = 0; i < 60; i++) {
      events.push({ event: { message: `${tag} event ${i}, with "quotes", commas`, actor: i % 3 === 0 ? `alice-${tag}` : `bob-${tag}`,
        action: i % 2 ? "login" : "logout", tenant_id: i % 4 === 0 ? "t1" : "t2", count: i, at: `2025-01-01T00:00:${String(i % 60).padStart(2, "0")}Z` } });
    }
    envelope(await post("/v2/log", { events: events.slice(0, 40) }, { token }), 200, "Success");
    salogCli(["publish", "--config", configId]);                 // 40 published ...
    envelope(await post("/v2/log", { events: events.slice(40) }, { token }), 200, "Success"); // ... 20 not yet
  });

  it("finds events by field:value and verifies every proof with the official client", async () => {
    const a = audit(token);
    const r = await a.search(`actor:alice-${tag}`, { limit: 50 }, { verifyConsistency: true });
    assert.equal(r.status, "Success");
    assert.equal(r.result.count, 20);
    assert.equal(r.result.events.length, 20);
    assert.match(r.result.id, /^pas_[a-z2-7]{32}$/);
    let published = 0;
    for (const e of r.result.events) {
      assert.equal(e.envelope.event.actor, `alice-${tag}`);
      assert.equal(e.membership_verification, "pass", JSON.stringify(e).slice(0, 300));
      if (e.published) {
        published++;
        assert.equal(typeof e.leaf_index, "number");
        assert.equal(e.consistency_verification, "pass");
      } else {
        assert.equal(e.leaf_index, undefined);
      }
    }
    assert.ok(published > 0, `published ${published}`);
    assert.ok(r.result.root);
    assert.ok(arweaveCalls > 0, "the client asked the (stubbed) Arweave and fell back to /v1/root");
    // The publication duty runs every 2 s here, so it may have sealed the
    // last 20 before the search. Then an event logged just now must show
    // the unpublished path (a few tries: the duty may win again).
    let unpublished = 20 - published, rr = r;
    for (let attempt = 1; unpublished === 0 && attempt <= 5; attempt++) {
      const actor = `carol-probe-${attempt}`;   // never contains the tag: other tests count it
      envelope(await post("/v1/log", { event: { message: "probe", actor } }, { token }), 200, "Success");
      rr = await a.search(`actor:${actor}`, { limit: 5 }, { verifyConsistency: true });
      assert.equal(rr.result.count, 1);
      for (const e of rr.result.events.filter((x) => !x.published)) {
        assert.equal(e.membership_verification, "pass", JSON.stringify(e).slice(0, 300));
        assert.equal(e.leaf_index, undefined);
        unpublished++;
      }
    }
    assert.ok(unpublished > 0, "an unpublished event was searched");
    assert.ok(rr.result.unpublished_root);
  });

  it("orders newest first by default and by any field on request", async () => {
    const desc = envelope(await post("/v1/search", { query: `message:${tag}`, limit: 5 }, { token }), 200, "Success").result;
    assert.deepEqual(desc.events.map((e) => e.envelope.event.count), [59, 58, 57, 56, 55]);
    const asc = envelope(await post("/v1/search", { query: `message:${tag}`, limit: 3, order: "asc" }, { token }), 200, "Success").result;
    assert.deepEqual(asc.events.map((e) => e.envelope.event.count), [0, 1, 2]);
    const byAction = envelope(await post("/v1/search", { query: `message:${tag}`, limit: 60, order: "asc", order_by: "action" }, { token }), 200, "Success").result;
    assert.equal(byAction.events[0].envelope.event.action, "login");
    assert.equal(byAction.events[59].envelope.event.action, "logout");
    errorItem(await post("/v1/search", { query: "", order_by: "colour" }, { token }), 400, "ValidationError", "NotEnumMember", "/order_by");
    errorItem(await post("/v1/search", { query: "", order: "up" }, { token }), 400, "ValidationError", "NotEnumMember", "/order");
  });

  it("speaks the query language: AND, OR, -, parentheses, quotes, comparisons, match-all", async () => {
    const count = async (query) => envelope(await post("/v1/search", { query, limit: 1 }, { token }), 200, "Success").result.count;
    assert.equal(await count(`actor:alice-${tag} action:login`), 10);
    assert.equal(await count(`actor:alice-${tag} AND action:login`), 10);
    assert.equal(await count(`actor:alice-${tag} OR action:login`), 40);
    assert.equal(await count(`message:${tag} -action:login`), 30);
    assert.equal(await count(`message:${tag} (actor:alice-${tag} OR tenant_id=t1)`), 30);
    assert.equal(await count(`message:"${tag} event 7,"`), 1);
    assert.equal(await count(`message:${tag} count<10`), 10);
    assert.equal(await count(`message:${tag} count>-1 count>49`), 10);
    assert.equal(await count(`message:${tag} at>"2025-01-01T00:00:49Z"`), 10);
    assert.equal(await count(`${tag}`), 60);
    assert.equal(await count(`message:""`) >= 60, true);
    assert.equal(await count(`actor:ALICE-${tag}`), 0, "contains is case-sensitive");
    const bad = errorItem(await post("/v1/search", { query: `actor:alice (` }, { token }), 400, "ValidationError", "BadFormat", "/query");
    assert.match(bad.detail, /syntax error/);
    errorItem(await post("/v1/search", { query: `colour:red` }, { token }), 400, "ValidationError", "BadFormat", "/query");
    errorItem(await post("/v1/search", {}, { token }), 400, "ValidationError", "FieldRequired", "/query");
  });

  it("answers from the index once the duty has indexed the events (one block per key and batch)", async () => {
    const cfg = minimalConfig(`blocks-${tag}`, {
      schema: { fields: [{ id: "message", type: "string", size: 256, required: true }, { id: "actor", type: "string", size: 128 },
        { id: "count", type: "integer" }] },
    });
    const id = envelope(await post("/v1beta/config/create", cfg), 200, "Success").result.id;
    const tok = newToken(["--scope", "log,search", "--config", id]).secret;
    // 600 events: "rare" on every 150th (gaps of 150 inside a block), "common" on the rest.
    for (let b = 0; b < 6; b++) {
      const events = [];
      for (let i = b * 100; i < (b + 1) * 100; i++)
        events.push({ event: { message: `${tag} block event ${i}`, actor: i % 150 === 0 ? `rare-${tag}` : `common-${tag}`, count: i } });
      envelope(await post("/v2/log", { events }, { token: tok }), 200, "Success");
    }
    // Wait for the background duty, so the searches below read the index, not the unindexed tail.
    let indexed = 0;
    for (let t = 0; t < 200 && indexed < 600; t++) {
      const line = salogCli(["stats"]).split("\n").find((l) => l.includes(id)) || "";
      indexed = Number((line.match(/indexed (\d+)/) || [0, 0])[1]);
      if (indexed < 600) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(indexed, 600, "the duty indexed every event within 20 s");
    const search = async (query, extra = {}) =>
      envelope(await post("/v1/search", { query, limit: 10, order: "asc", ...extra }, { token: tok }), 200, "Success").result;
    const rare = await search(`actor:rare-${tag}`);
    assert.equal(rare.count, 4);
    assert.deepEqual(rare.events.map((e) => e.envelope.event.count), [0, 150, 300, 450]);
    assert.equal((await search(`actor:are-${tag}`)).count, 4, "a suffix of the value");
    assert.equal((await search(`rare-${tag}`)).count, 4, "a bare term: the \"*\" index");
    assert.equal((await search(`actor:common-${tag}`, { limit: 1 })).count, 596);
    assert.deepEqual((await search(`actor:rare-${tag} count>100`)).events.map((e) => e.envelope.event.count), [150, 300, 450]);
  });

  it("bounds by time, absolute and relative, and rejects bad times", async () => {
    const all = envelope(await post("/v1/search", { query: `message:${tag}`, start: "1h", limit: 1 }, { token }), 200, "Success").result;
    assert.equal(all.count, 60);
    const future = new Date(Date.now() + 3600e3).toISOString();
    assert.equal(envelope(await post("/v1/search", { query: `message:${tag}`, start: future, limit: 1 }, { token }), 200, "Success").result.count, 0);
    assert.equal(envelope(await post("/v1/search", { query: `message:${tag}`, end: "2020-01-01T00:00:00.123456789+02:00", limit: 1 }, { token }), 200, "Success").result.count, 0);
    errorItem(await post("/v1/search", { query: "", start: "yesterday" }, { token }), 400, "ValidationError", "BadFormatPangeaDuration", "/start");
    errorItem(await post("/v1/search", { query: "", end: "2025-13-01T00:00:00Z" }, { token }), 400, "ValidationError", "BadFormatDateTime", "/end");
  });

  it("caps with max_results and pages with /v1/results, BadOffset past the end", async () => {
    const s = envelope(await post("/v1/search", { query: `message:${tag}`, limit: 2, max_results: 7 }, { token }), 200, "Success").result;
    assert.equal(s.count, 7);
    assert.equal(s.events.length, 2);
    const seen = [...s.events.map((e) => e.hash)];
    for (let offset = 2; offset < 7; offset += 2) {
      const p = envelope(await post("/v1/results", { id: s.id, offset, limit: 2 }, { token }), 200, "Success").result;
      assert.equal(p.count, 7);
      seen.push(...p.events.map((e) => e.hash));
    }
    assert.equal(new Set(seen).size, 7);
    // count stays put while logging goes on
    envelope(await post("/v1/log", { event: { message: `${tag} late`, actor: `alice-${tag}` } }, { token }), 200, "Success");
    assert.equal(envelope(await post("/v1/results", { id: s.id, offset: 6, limit: 5 }, { token }), 200, "Success").result.count, 7);
    errorItem(await post("/v1/results", { id: s.id, offset: 7 }, { token }), 400, "BadOffset", "NotWithinRange", "/offset");
    errorItem(await post("/v1/results", { id: s.id, offset: 8 }, { token }), 400, "BadOffset");
    errorItem(await post("/v1/results", { id: s.id, limit: 0 }, { token }), 400, "ValidationError", "NotWithinRange", "/limit");
    errorItem(await post("/v1/results", { id: s.id, offset: -1 }, { token }), 400, "ValidationError", "NotWithinRange", "/offset");
    errorItem(await post("/v1/results", { id: "pas_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }, { token }), 400, "ValidationError", "DoesNotExist", "/id");
    // another token cannot read this result set
    const other = newToken(["--scope", "search", "--config", configId]).secret;
    errorItem(await post("/v1/results", { id: s.id }, { token: other }), 400, "ValidationError", "DoesNotExist", "/id");
    // the SDK pages the same way
    const a = audit(token);
    const page = await a.results(s.id, 2, 4);
    assert.equal(page.result.events.length, 2);
  });

  it("applies search_restriction and the token's field restrictions to searches and pages", async () => {
    const r = envelope(await post("/v1/search", { query: `message:${tag}`, search_restriction: { action: ["login"] }, limit: 100 }, { token }), 200, "Success").result;
    assert.equal(r.count, 30);
    assert.ok(r.events.every((e) => e.envelope.event.action === "login"));
    errorItem(await post("/v1/results", { id: r.id, assert_search_restriction: { action: ["logout"] } }, { token }), 400, "ValidationError", undefined, "/assert_search_restriction");
    envelope(await post("/v1/results", { id: r.id, assert_search_restriction: { action: ["login"] } }, { token }), 200, "Success");
    const t = envelope(await post("/v1/search", { query: `message:${tag}`, limit: 100 }, { token: restricted }), 200, "Success").result;
    assert.equal(t.count, 15);
    assert.ok(t.events.every((e) => e.envelope.event.tenant_id === "t1"));
    // even asking for t2 explicitly shows nothing
    const t2 = envelope(await post("/v1/search", { query: `message:${tag} tenant_id:t2`, limit: 100 }, { token: restricted }), 200, "Success").result;
    assert.equal(t2.count, 0);
  });

  it("downloads results as gzip CSV and JSON from a URL that needs no token", async () => {
    const s = envelope(await post("/v1/search", { query: `actor:alice-${tag}`, limit: 1, order: "asc" }, { token }), 200, "Success").result;
    const d = envelope(await post("/v1/download_results", { result_id: s.id, format: "csv" }, { token }), 200, "Success").result;
    assert.match(d.dest_url, /\/download\/[a-z2-7]{32}\/search_results_pas_[a-z2-7]{32}\.csv\.gz$/);
    assert.ok(Date.parse(d.expires_at) > Date.now());
    const { res, text } = await fetchGzip(d.dest_url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/gzip");
    assert.equal(res.headers.get("content-encoding"), null);
    const lines = text.split("\r\n");
    assert.equal(lines[0], "received_at,message,actor,action,tenant_id,count,at,hash,published,leaf_index,membership_proof");
    assert.equal(lines.filter((l) => l).length, 1 + s.count);
    assert.match(lines[1], new RegExp(`,"${tag} event 0, with ""quotes"", commas",alice-${tag},logout,t1,0,`));
    // a Bearer header is tolerated (the Node SDK sends one)
    assert.equal((await fetchGzip(d.dest_url, { Authorization: `Bearer ${token}` })).res.status, 200);
    const j = envelope(await post("/v1/download_results", { result_id: s.id, format: "json" }, { token }), 200, "Success").result;
    const events = JSON.parse((await fetchGzip(j.dest_url)).text);
    assert.equal(events.length, s.count);
    assert.ok(events.every((e) => e.hash && e.envelope && typeof e.published === "boolean"));
    errorItem(await post("/v1/download_results", {}, { token }), 400, "ValidationError", "MustProvideOne");
    errorItem(await post("/v1/download_results", { result_id: s.id, request_id: "prq_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }, { token }), 400, "ValidationError", "MutuallyExclusive");
    errorItem(await post("/v1/download_results", { result_id: s.id, format: "xml" }, { token }), 400, "ValidationError", "NotEnumMember", "/format");
    const bogus = await get(`/download/${"a".repeat(32)}/x.csv.gz`, { token: null });
    assert.equal(bogus.http, 404);
  });

  it("exports in the background: 202, poll to completion, then download", async () => {
    const r = await post("/v1/export", { format: "json", start: "1h", order: "asc", verbose: false }, { token });
    const env = envelope(r, 202, "Accepted");
    assert.match(env.result.location, /\/request\/prq_/);
    const id = env.request_id;
    let done;
    for (let i = 0; i < 100 && !done; i++) {
      const p = await get(`/request/${id}`, { token });
      if (p.http === 200) done = p.body;
      else { assert.equal(p.http, 202); await new Promise((res) => setTimeout(res, 200)); }
    }
    assert.ok(done, "the export did not finish within 20 s");
    assert.equal(done.status, "Success");
    assert.equal(done.request_id, id);
    const d = envelope(await post("/v1/download_results", { request_id: id }, { token }), 200, "Success").result;
    const events = JSON.parse((await fetchGzip(d.dest_url)).text);
    const mine = events.filter((e) => String(e.envelope.event.message).startsWith(tag));
    assert.equal(mine.length, 61);
    assert.deepEqual(mine.slice(0, 3).map((e) => e.envelope.event.count), [0, 1, 2]);
    // the SDK's own export flow: poll with pollResult, then download
    const a = audit(token);
    const res = await a.export({ format: "csv", start: "1h" });
    assert.equal(res.status, "Accepted");
    assert.match(res.request_id, /^prq_[a-z2-7]{32}$/);
  });
});
