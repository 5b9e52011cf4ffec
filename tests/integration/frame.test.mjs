// The service frame through the web server: envelopes, auth, limits, codecs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { post, get, envelope, errorItem, newToken, rawHttp, URL_BASE, SERVER, PREFIX } from "./lib.mjs";

describe(`frame via ${SERVER}`, () => {
  it("answers a valid admin request with the exact envelope and x-request-id", async () => {
    const r = await post("/v1beta/config/list", {});
    const env = envelope(r, 200, "Success");
    assert.equal(typeof env.result.count, "number");
    assert.ok(env.result.count >= 1, "salog init made the default config");
  });

  it("passes Authorization through the web server (a bad token is 401, the admin token is not)", async () => {
    const ok = await post("/v1beta/config/list", {});
    assert.equal(ok.http, 200);
    const bad = await post("/v1beta/config/list", {}, { token: "pts_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" });
    errorItem(bad, 401, "Unauthorized", "Unauthorized", "/");
  });

  it("401 without a token, with a malformed header, and with a revoked token", async () => {
    errorItem(await post("/v1beta/config/list", {}, { token: null }), 401, "Unauthorized", "Unauthorized");
    errorItem(await post("/v1beta/config/list", {}, { token: null, headers: { Authorization: "Basic eDp5" } }),
      401, "Unauthorized", "Unauthorized");
    const t = newToken(["--scope", "admin", "--name", "to-revoke"]);
    // Concurrent requests, so that the worker processes read (and keep) the
    // token before another process revokes it: each must see the
    // revocation on its next request. (tests/unit/test_auth_epoch.c shows
    // the same across two processes deterministically.)
    const burst = () => Promise.all(Array.from({ length: 8 }, () => post("/v1beta/config/list", {}, { token: t.secret })));
    for (const r of await burst()) assert.equal(r.http, 200);
    const { salogCli } = await import("./lib.mjs");
    salogCli(["token", "revoke", t.id]);
    for (const r of await burst()) errorItem(r, 401, "Unauthorized", "Unauthorized");
  });

  it("401 for an expired token", async () => {
    const t = newToken(["--scope", "admin", "--expires", "1s"]);
    await new Promise((r) => setTimeout(r, 1500));
    errorItem(await post("/v1beta/config/list", {}, { token: t.secret }), 401, "Unauthorized", "Unauthorized");
  });

  it("403 MissingScope for a token without the admin scope", async () => {
    const t = newToken(["--scope", "log"]);
    const r = await post("/v1beta/config/list", {}, { token: t.secret });
    errorItem(r, 403, "Unauthorized", "MissingScope", "/");
  });

  it("404 NotFound envelope for an unknown route and for a wrong method", async () => {
    errorItem(await post("/v1/nothing_here", {}), 404, "NotFound", "NotFound", "/");
    errorItem(await get("/v1beta/config/list"), 404, "NotFound", "NotFound", "/");
  });

  it("400 BadFormat for an empty body, malformed JSON, trailing garbage and a non-object", async () => {
    errorItem(await post("/v1beta/config/list", null, { raw: "" }), 400, "ValidationError", "BadFormat", "/");
    errorItem(await post("/v1beta/config/list", null, { raw: "{\"size\":" }), 400, "ValidationError", "BadFormat", "/");
    errorItem(await post("/v1beta/config/list", null, { raw: "{} x" }), 400, "ValidationError", "BadFormat", "/");
    const arr = await post("/v1beta/config/list", [1, 2]);
    const env = envelope(arr, 400, "ValidationError");
    assert.equal(env.result.errors[0].source, "/");
  });

  it("rejects a repeated key with the repeated member's source, in JSON and MessagePack", async () => {
    const raw = '{"name":"a","version":3,"schema":{"fields":[{"id":"message","type":"string","type":"text"}]}}';
    errorItem(await post("/v1beta/config/create", null, { raw }), 400, "ValidationError", "BadFormat",
      "/schema/fields/0/type");
    // MessagePack map with a repeated key "size": 0x82 a4 "size" 01 a4 "size" 02
    const mp = Buffer.from([0x82, 0xa4, 0x73, 0x69, 0x7a, 0x65, 0x01, 0xa4, 0x73, 0x69, 0x7a, 0x65, 0x02]);
    errorItem(await post("/v1beta/config/list", null, { raw: mp, headers: { "Content-Type": "application/msgpack" } }),
      400, "ValidationError", "BadFormat", "/size");
  });

  it("rejects lone surrogates and invalid UTF-8", async () => {
    errorItem(await post("/v1beta/config/create", null, { raw: '{"name":"\\ud800","version":3}' }),
      400, "ValidationError", "BadFormat");
    errorItem(await post("/v1beta/config/create", null, { raw: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) }),
      400, "ValidationError", "BadFormat");
  });

  it("enforces nesting depth 32 (33 is BadFormat)", async () => {
    const nest = (levels) => { let d = "1"; for (let i = 0; i < levels; i++) d = `{"a":${d}}`; return d; };
    // the body is depth 1, the filter's 31 nested objects reach depth 32: parsed, then
    // refused by the filter check; one more level is depth 33
    const ok = await post("/v1beta/config/list", null, { raw: `{"filter":${nest(31)}}` });
    errorItem(ok, 400, "ValidationError", "UnexpectedProperty", "/filter/a");
    const deep = await post("/v1beta/config/list", null, { raw: `{"filter":${nest(32)}}` });
    errorItem(deep, 400, "ValidationError", "BadFormat", "/");
  });

  it("413 IsTooBig envelope above 1 MiB", async () => {
    const big = JSON.stringify({ name: "x".repeat(1536 * 1024) });
    errorItem(await post("/v1beta/config/create", null, { raw: big }), 413, "ValidationError", "IsTooBig", "/");
  });

  it("refuses a POST without Content-Length: 411, or the empty-body envelope where the server sets length 0", async () => {
    const u = new URL(URL_BASE);
    const r = await rawHttp(`POST ${PREFIX}/v1beta/config/list HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${process.env.SALOG_ADMIN_TOKEN}\r\nConnection: close\r\n\r\n`);
    if (SERVER === "apache") {
      // Apache's mod_fcgid hands the worker CONTENT_LENGTH=0 for a POST without a
      // length (as for G9); lighttpd and mod_proxy_fcgi answer 411.
      assert.equal(r.http, 400, r.text.slice(0, 300));
      const env = JSON.parse(r.body);
      assert.equal(env.status, "ValidationError");
      assert.equal(env.result.errors[0].code, "BadFormat");
      assert.match(env.result.errors[0].detail, /empty body/);
    } else {
      assert.equal(r.http, 411, r.text.slice(0, 300));
    }
  });

  it("a chunked body reaches salog with its length", async () => {
    const u = new URL(URL_BASE);
    const body = "{}";
    const r = await rawHttp(`POST ${PREFIX}/v1beta/config/list HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${process.env.SALOG_ADMIN_TOKEN}\r\n` +
      `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    assert.equal(r.http, 200, r.text.slice(0, 300));
  });

  it("speaks MessagePack in and out when asked", async () => {
    const r = await post("/v1beta/config/list", { size: 1 }, { msgpack: true, acceptMsgpack: true });
    assert.match(r.headers.get("content-type"), /application\/msgpack/);
    const env = envelope(r, 200, "Success");
    assert.equal(env.result.items.length, 1);
    // JSON in, MessagePack out
    const r2 = await post("/v1beta/config/list", { size: 1 }, { acceptMsgpack: true });
    envelope(r2, 200, "Success");
    // MessagePack errors are MessagePack envelopes too
    const r3 = await post("/v1beta/config/list", { size: 0 }, { msgpack: true, acceptMsgpack: true });
    errorItem(r3, 400, "ValidationError", "NotWithinRange", "/size");
  });

  it("refuses hostile MessagePack without allocating: huge declared lengths, bin, ext, non-string keys", async () => {
    const ct = { "Content-Type": "application/msgpack" };
    for (const raw of [
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]),                 // array32 of 2^32-1
      Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]),                 // map32 of 2^32-1
      Buffer.from([0x81, 0xa4, 0x73, 0x69, 0x7a, 0x65, 0xc4, 0x01, 0x00]), // {"size": bin}
      Buffer.from([0x81, 0xa4, 0x73, 0x69, 0x7a, 0x65, 0xd4, 0x01, 0x00]), // {"size": fixext1}
      Buffer.from([0x81, 0x01, 0x02]),                             // {1: 2}
      Buffer.from([0x81, 0xa4, 0x73, 0x69, 0x7a, 0x65, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), // NaN
    ]) {
      const r = await post("/v1beta/config/list", null, { raw, headers: ct });
      const env = envelope(r, 400, "ValidationError");
      assert.ok(env.result.errors.length > 0);
    }
    const r = await post("/v1beta/config/list", null, { raw: Buffer.from([0x81, 0xa4, 0x73, 0x69, 0x7a, 0x65, 0xc4, 0x01, 0x00]), headers: ct });
    errorItem(r, 400, "ValidationError", "BadFormat", "/size");
  });

  it("never answers a 5xx to garbage", async () => {
    const samples = ["\u0000", "[[[[[[", "{\"a\":}", "nul", "\"str\"", "{\"size\":1e400}", "{\"size\":99999999999999999999}"];
    for (const raw of samples) {
      const r = await post("/v1beta/config/list", null, { raw });
      assert.ok(r.http >= 400 && r.http < 500, `${JSON.stringify(raw)} -> ${r.http}`);
      envelope(r);
    }
  });

  it("answers the no-op floor route without a token", async () => {
    const r = await post("/_salog/noop", {}, { token: null });
    envelope(r, 200, "Success");
  });

  it("keeps serving many concurrent requests", async () => {
    const rs = await Promise.all(Array.from({ length: 40 }, () => post("/v1beta/config/list", { size: 1 })));
    for (const r of rs) envelope(r, 200, "Success");
  });
});
