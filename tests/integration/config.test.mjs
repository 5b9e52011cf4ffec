// The configuration API and /v1/schema through the web server.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { post, envelope, errorItem, newToken, minimalConfig, SERVER } from "./lib.mjs";

const uniq = () => Math.random().toString(36).slice(2, 10);

async function create(body, opts) {
  const r = await post("/v1beta/config/create", body, opts);
  return envelope(r, 200, "Success").result;
}

describe(`config API via ${SERVER}`, () => {
  it("creates a config with server-assigned id, times, version and defaults", async () => {
    const c = await create(minimalConfig(`cfg-${uniq()}`));
    assert.match(c.id, /^pci_[a-z2-7]{32}$/);
    assert.equal(c.version, 3);
    assert.match(c.created_at, /Z$/);
    assert.equal(c.created_at, c.updated_at);
    assert.equal(c.hot_storage, "14d");
    assert.equal(c.query_result_retention, "2d");
    assert.equal(c.schema.fields.length, 3);
    assert.equal(c.schema.fields[0].id, "message");
    const got = envelope(await post("/v1beta/config", { id: c.id }), 200, "Success").result;
    assert.deepEqual(got, c);
    // the beta Node SDK sent {"config_id"} for reads
    const got2 = envelope(await post("/v1beta/config", { config_id: c.id }), 200, "Success").result;
    assert.deepEqual(got2, c);
  });

  it("creates the E14 example of API.md and stores every field", async () => {
    const body = {
      name: `e14-${uniq()}`, version: 3,
      schema: { tamper_proofing: true, client_signable: true, save_malformed: "all",
        fields: [{ id: "message", type: "string", size: 32766, required: true, name: "Message", description: "what", ui_default_visible: true },
          { id: "field_int", type: "integer" }, { id: "field_bool", type: "boolean" }, { id: "field_time", type: "datetime" },
          { id: "blob", type: "string-unindexed", size: 1000 }, { id: "words", type: "text", redact: true }] },
      hot_storage: "7d", warm_storage: "1y", cold_storage: "365d", query_result_retention: "3d",
      cold_query_result_retention: "4d", vault_sign: true, vault_key_id: "key-1", redact_service_config_id: null,
      ui_metadata: { saved_searches: [{ title: "logins", query: "action:login", start: "7d", end: "0d", order: "desc", order_by: "received_at" }] },
      partition_overrides: { t1: { warm_storage: "30d" } }, shards: 3, datastore: "default",
    };
    const c = await create(body);
    for (const k of ["hot_storage", "warm_storage", "cold_storage", "query_result_retention", "cold_query_result_retention",
      "vault_sign", "vault_key_id", "ui_metadata", "partition_overrides", "shards", "datastore"]) {
      assert.deepEqual(c[k], body[k], k);
    }
    assert.equal(c.schema.save_malformed, "all");
    assert.equal(c.schema.fields[5].type, "text");
  });

  it("validates create with precise sources", async () => {
    const cases = [
      [{ ...minimalConfig("x"), id: "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }, "UnexpectedProperty", "/id"],
      [{ ...minimalConfig("x"), colour: "red" }, "UnexpectedProperty", "/colour"],
      [{ version: 3, schema: minimalConfig("x").schema }, "FieldRequired", "/name"],
      [{ name: "x", schema: minimalConfig("x").schema }, "FieldRequired", "/version"],
      [{ name: "x", version: 3 }, "FieldRequired", "/schema"],
      [{ ...minimalConfig("x"), name: 5 }, "InvalidString", "/name"],
      [{ ...minimalConfig("x"), hot_storage: "fortnight" }, "BadFormatPangeaDuration", "/hot_storage"],
      [{ ...minimalConfig("x"), vault_sign: "yes" }, "InvalidBool", "/vault_sign"],
      [{ ...minimalConfig("x"), shards: 0 }, "NotWithinRange", "/shards"],
      [{ ...minimalConfig("x"), datastore: "mysql" }, "NotEnumMember", "/datastore"],
      [{ ...minimalConfig("x"), vault_key_id: null }, "InvalidNull", "/vault_key_id"],
      [{ name: "x", version: 3, schema: { fields: [{ id: "Bad-Id", type: "string" }] } }, "DoesNotMatchPattern", "/schema/fields/0/id"],
      [{ name: "x", version: 3, schema: { fields: [{ id: "message", type: "string" }, { id: "message", type: "text" }] } }, "ItemNotUnique", "/schema/fields/1/id"],
      [{ name: "x", version: 3, schema: { fields: [{ id: "message", type: "blob" }] } }, "NotEnumMember", "/schema/fields/0/type"],
      [{ name: "x", version: 3, schema: { fields: [{ id: "message", type: "string", size: 40000 }] } }, "NotWithinRange", "/schema/fields/0/size"],
      [{ name: "x", version: 3, schema: { fields: [{ id: "message", type: "string", colour: 1 }] } }, "UnexpectedProperty", "/schema/fields/0/colour"],
      [{ name: "x", version: 3, schema: { fields: [{ id: "message", type: "string" }], save_malformed: "some" } }, "NotEnumMember", "/schema/save_malformed"],
      [{ ...minimalConfig("x"), forwarding_configuration: { type: "splunk", event_url: "ftp://x" } }, "DoesNotMatchPattern", "/forwarding_configuration/event_url"],
      [{ ...minimalConfig("x"), forwarding_configuration: { event_url: "https://x" } }, "FieldRequired", "/forwarding_configuration/type"],
    ];
    for (const [body, code, source] of cases) {
      errorItem(await post("/v1beta/config/create", body), 400, "ValidationError", code, source);
    }
  });

  it("never returns forwarding secrets", async () => {
    const c = await create(minimalConfig(`fwd-${uniq()}`, {
      forwarding_configuration: { type: "http", event_url: "http://127.0.0.1:9/hook", secret: "s3cr3t-value", forwarding_enabled: false },
    }));
    assert.equal(c.forwarding_configuration.type, "http");
    assert.ok(!JSON.stringify(c).includes("s3cr3t-value"));
    const got = await post("/v1beta/config", { id: c.id });
    assert.ok(!JSON.stringify(got.body).includes("s3cr3t-value"));
    const list = await post("/v1beta/config/list", { size: 1000 });
    assert.ok(!JSON.stringify(list.body).includes("s3cr3t-value"));
  });

  it("updates with optimistic concurrency and read-only schema fields", async () => {
    const c = await create(minimalConfig(`upd-${uniq()}`));
    const next = { ...c, name: `${c.name}-2`, hot_storage: "3d" };
    next.schema = structuredClone(c.schema);
    next.schema.fields[0].description = "the message";
    next.schema.fields[1].required = true;
    await new Promise((r) => setTimeout(r, 5));
    const u = envelope(await post("/v1beta/config/update", next), 200, "Success").result;
    assert.equal(u.name, `${c.name}-2`);
    assert.equal(u.hot_storage, "3d");
    assert.equal(u.schema.fields[0].description, "the message");
    assert.equal(u.created_at, c.created_at);
    assert.notEqual(u.updated_at, c.updated_at);
    // stale updated_at
    errorItem(await post("/v1beta/config/update", next), 400, "ValidationError", "BadState", "/updated_at");
    // a fixed schema attribute
    const bad = structuredClone(u);
    bad.schema.fields[1].type = "string";
    errorItem(await post("/v1beta/config/update", bad), 400, "ValidationError", "IsReadOnly", "/schema/fields/1/type");
    const added = structuredClone(u);
    added.schema.fields.push({ id: "extra", type: "string" });
    errorItem(await post("/v1beta/config/update", added), 400, "ValidationError", "IsReadOnly");
    // missing required members
    errorItem(await post("/v1beta/config/update", { id: u.id, name: "n", version: 3 }), 400, "ValidationError", "FieldRequired", "/updated_at");
    errorItem(await post("/v1beta/config/update", { ...u, id: "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }), 400, "ValidationError", "DoesNotExist", "/id");
  });

  it("keeps a stored forwarding secret when an update leaves it out", async () => {
    const c = await create(minimalConfig(`fwd2-${uniq()}`, {
      forwarding_configuration: { type: "http", event_url: "http://127.0.0.1:9/hook", secret: "keep-me" },
    }));
    const u = envelope(await post("/v1beta/config/update", { ...c, name: `${c.name}-b` }), 200, "Success").result;
    assert.equal(u.forwarding_configuration.event_url, "http://127.0.0.1:9/hook");
    assert.ok(!JSON.stringify(u).includes("keep-me"));
  });

  it("deletes, then the config is gone", async () => {
    const c = await create(minimalConfig(`del-${uniq()}`));
    const d = envelope(await post("/v1beta/config/delete", { id: c.id }), 200, "Success").result;
    assert.equal(d.id, c.id);
    errorItem(await post("/v1beta/config", { id: c.id }), 400, "ValidationError", "DoesNotExist", "/id");
    errorItem(await post("/v1beta/config/delete", { id: c.id }), 400, "ValidationError", "DoesNotExist", "/id");
    errorItem(await post("/v1beta/config/delete", {}), 400, "ValidationError", "FieldRequired", "/id");
  });

  it("lists with size, last cursor, order, order_by and filters", async () => {
    const tag = uniq();
    const made = [];
    for (let i = 0; i < 5; i++) { made.push(await create(minimalConfig(`list-${tag}-${i}`))); await new Promise((r) => setTimeout(r, 3)); }
    const seen = [];
    let last = "";
    let pages = 0;
    do {
      const r = envelope(await post("/v1beta/config/list", { size: 2, last: last || undefined, filter: { name__contains: `list-${tag}` } }), 200, "Success").result;
      assert.equal(r.count, 5);
      assert.equal(typeof r.last, "string");
      seen.push(...r.items.map((x) => x.name));
      last = r.last;
      pages++;
    } while (last && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, made.map((x) => x.name));
    const desc = envelope(await post("/v1beta/config/list", { order: "desc", order_by: "created_at", filter: { name__contains: `list-${tag}` } }), 200, "Success").result;
    assert.deepEqual(desc.items.map((x) => x.name), made.map((x) => x.name).reverse());
    const byName = envelope(await post("/v1beta/config/list", { filter: { name: `list-${tag}-3` } }), 200, "Success").result;
    assert.equal(byName.count, 1);
    const byId = envelope(await post("/v1beta/config/list", { filter: { id: made[1].id } }), 200, "Success").result;
    assert.equal(byId.items[0].name, `list-${tag}-1`);
    const after = envelope(await post("/v1beta/config/list", { filter: { name__contains: `list-${tag}`, created_at__gt: made[2].created_at } }), 200, "Success").result;
    assert.equal(after.count, 2);
    errorItem(await post("/v1beta/config/list", { order: "up" }), 400, "ValidationError", "NotEnumMember", "/order");
    errorItem(await post("/v1beta/config/list", { order_by: "name" }), 400, "ValidationError", "NotEnumMember", "/order_by");
    errorItem(await post("/v1beta/config/list", { size: "2" }), 400, "ValidationError", "InvalidInteger", "/size");
    errorItem(await post("/v1beta/config/list", { last: "!!not-a-cursor!!" }), 400, "ValidationError", "BadFormat", "/last");
    errorItem(await post("/v1beta/config/list", { filter: { colour: "x" } }), 400, "ValidationError", "UnexpectedProperty", "/filter/colour");
  });

  it("sets partition overrides", async () => {
    const c = await create(minimalConfig(`po-${uniq()}`));
    const r = envelope(await post("/v1beta/config/partition_overrides", { id: c.id, overrides: { t1: { warm_storage: "30d", cold_storage: "365d" } } }), 200, "Success").result;
    assert.deepEqual(r.partition_overrides.t1, { warm_storage: "30d", cold_storage: "365d" });
    errorItem(await post("/v1beta/config/partition_overrides", { id: c.id, overrides: { t1: { warm_storage: "soon" } } }),
      400, "ValidationError", "BadFormatPangeaDuration", "/overrides/t1/warm_storage");
  });

  it("a config changed or deleted through one worker is seen by the next request of every worker", async () => {
    const c = await create(minimalConfig(`seen-${uniq()}`));
    const t = newToken(["--scope", "search", "--config", c.id]);
    // Concurrent requests each time, so that the worker processes read (and
    // keep) the config before it changes. (tests/unit/test_auth_epoch.c
    // shows the same across two processes deterministically.)
    const burst = () => Promise.all(Array.from({ length: 8 }, () => post("/v1/schema", {}, { token: t.secret })));
    for (const r of await burst())
      assert.equal(envelope(r, 200, "Success").result.fields[0].description, undefined);
    const next = { ...c, schema: structuredClone(c.schema) };
    next.schema.fields[0].description = "the message";
    envelope(await post("/v1beta/config/update", next), 200, "Success");
    for (const r of await burst())
      assert.equal(envelope(r, 200, "Success").result.fields[0].description, "the message");
    envelope(await post("/v1beta/config/delete", { id: c.id }), 200, "Success");
    for (const r of await burst()) errorItem(r, 400, "ValidationError", "ConfigNotExist", "/config_id");
  });

  it("resolves configs for /v1/schema per token binding", async () => {
    const a = await create(minimalConfig(`sa-${uniq()}`));
    const b = await create(minimalConfig(`sb-${uniq()}`));
    const one = newToken(["--scope", "search", "--config", a.id]);
    const two = newToken(["--scope", "search", "--config", a.id, "--config", b.id]);
    const s = envelope(await post("/v1/schema", {}, { token: one.secret }), 200, "Success").result;
    assert.equal(s.fields[0].id, "message");
    errorItem(await post("/v1/schema", {}, { token: two.secret }), 400, "MissingConfigID", "MissingConfigID");
    envelope(await post("/v1/schema", { config_id: b.id }, { token: two.secret }), 200, "Success");
    errorItem(await post("/v1/schema", { config_id: b.id }, { token: one.secret }), 403, "Unauthorized", "ConfigNotExist", "/config_id");
    errorItem(await post("/v1/schema", { config_id: "pci_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }, { token: one.secret }),
      400, "ValidationError", "ConfigNotExist", "/config_id");
    const logOnly = newToken(["--scope", "log", "--config", a.id]);
    errorItem(await post("/v1/schema", {}, { token: logOnly.secret }), 403, "Unauthorized", "MissingScope");
  });
});
