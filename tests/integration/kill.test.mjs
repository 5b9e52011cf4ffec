// SIGKILL workers while clients log through the web server: the others must not
// wedge, and every event acknowledged with Success must still be in the tree.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import { post, envelope, newToken, salogCli, minimalConfig, SERVER } from "./lib.mjs";

const WORKER = process.env.SALOG_WORKER_PATH;
const sha256 = (b) => crypto.createHash("sha256").update(b).digest();

// Worker processes of the server under test; a SALOG_WORKERS supervisor (the
// parent of other workers) is left alone: it is what restarts them.
function workerPids() {
  let pids;
  try {
    pids = execFileSync("pgrep", ["-f", WORKER], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch { return []; }
  const parents = new Set();
  for (const pid of pids) {
    try { parents.add(Number(execFileSync("ps", ["-o", "ppid=", "-p", String(pid)], { encoding: "utf8" }).trim())); } catch { /* gone */ }
  }
  return pids.filter((p) => !parents.has(p));
}

function verifyMembership(leafHex, proof, rootHex) {
  let h = Buffer.from(leafHex, "hex");
  if (proof) for (const item of proof.split(",")) {
    const [side, s] = item.split(":");
    const sib = Buffer.from(s, "hex");
    h = side === "l" ? sha256(Buffer.concat([sib, h])) : sha256(Buffer.concat([h, sib]));
  }
  return h.toString("hex") === rootHex;
}

describe(`worker crash via ${SERVER}`, () => {
  it("keeps serving and loses no acknowledged event when workers are SIGKILLed mid-append", async () => {
    assert.ok(WORKER, "SALOG_WORKER_PATH is set by run.sh");
    const cfg = envelope(await post("/v1beta/config/create", minimalConfig(`kill-${Date.now()}`)), 200, "Success").result;
    const token = newToken(["--scope", "log,search", "--config", cfg.id]).secret;
    const acked = [];
    let failures = 0, stop = false, kills = 0;

    async function client(n) {
      let i = 0;
      while (!stop) {
        try {
          const r = await post("/v1/log", { event: { message: `kill-${n}-${i++}` }, verbose: true }, { token });
          if (r.http === 200 && r.body.status === "Success") acked.push(r.body.result);
          else failures++;
        } catch { failures++; }
      }
    }
    const clients = Array.from({ length: 4 }, (_, n) => client(n));
    // Four kills, 1.2 s apart; mod_fcgid may have no worker alive for a while
    // after a kill (it throttles respawns), so keep looking, for 30 s at most.
    const killStart = Date.now();
    while (kills < 4 && Date.now() - killStart < 30000) {
      await new Promise((r) => setTimeout(r, kills === 0 ? 1200 : 300));
      const pids = workerPids();
      if (!pids.length) continue;
      const victim = pids[Math.floor(Math.random() * pids.length)];
      try { process.kill(victim, "SIGKILL"); kills++; } catch { continue; /* already gone */ }
      await new Promise((r) => setTimeout(r, 900));
    }
    // The service must come back: acknowledgements keep arriving after the last kill.
    const before = acked.length;
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await Promise.all(clients);
    assert.equal(kills, 4, `killed ${kills} workers`);
    assert.ok(acked.length > before, `no Success after the last kill (acked ${acked.length}, failures ${failures})`);

    // Workers that met the panic answer 500 ("storage needs recovery"), or
    // Success if their append had committed before it, and exit;
    // their launcher starts fresh ones, which recover. Wait (bounded) until ten
    // requests in a row succeed, and say how long that took.
    const settleStart = Date.now();
    let streak = 0;
    while (streak < 10) {
      assert.ok(Date.now() - settleStart < 30000, "the service did not recover within 30 s of the last kill");
      let ok = false;
      try { ok = (await post("/v1beta/config", { id: cfg.id })).http === 200; } catch { ok = false; }
      streak = ok ? streak + 1 : 0;
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    const settleMs = Date.now() - settleStart;

    // Every acknowledged event: its proof verifies against the root it was given,
    // and that root is the root of the final tree at some size (nothing lost or rewritten).
    // A worker that meets the panic after its append committed still answers
    // Success (the event is durable) but without the proof it could not read:
    // such an event must be found by search, with the hash it was given.
    const withoutProof = acked.filter((a) => a.membership_proof === undefined);
    for (const a of acked) {
      if (a.membership_proof !== undefined) assert.ok(verifyMembership(a.hash, a.membership_proof, a.unpublished_root), a.hash);
      else assert.match(a.unpublished_root, /^[0-9a-f]{64}$/, `${a.hash} has no root`);
    }
    salogCli(["publish", "--config", cfg.id]);
    const latest = envelope(await post("/v1/root", { config_id: cfg.id }, { token }), 200, "Success").result.data;
    assert.ok(latest.size >= acked.length, `tree size ${latest.size} < ${acked.length} acknowledged`);
    // Read-only requests; a network error (a kept-alive connection the server
    // closed meanwhile) is retried as the SDKs do. Every reply is still checked.
    const rootAt = async (j) => {
      for (let attempt = 0; ; attempt++) {
        try { return await post("/v1/root", { config_id: cfg.id, tree_size: j }, { token }); }
        catch (e) { if (attempt >= 3) throw e; }
      }
    };
    const rootsBySize = new Set();
    // mod_fcgid throttles respawning after the kills (its spawn score) and queues
    // requests beyond its live processes in ~1 s steps (PLATFORM.md G8): one at a time there.
    const width = SERVER === "apache" ? 1 : 8; // proxy: spawn-fcgi workers take concurrent requests
    for (let k = 1; k <= latest.size; k += width) {
      const batch = [];
      for (let j = k; j < k + width && j <= latest.size; j++) batch.push(rootAt(j));
      for (const r of await Promise.all(batch)) rootsBySize.add(envelope(r, 200, "Success").result.data.root_hash);
    }
    for (const a of acked) assert.ok(rootsBySize.has(a.unpublished_root), `root ${a.unpublished_root} is not a prefix root of the final tree`);
    for (const a of withoutProof) {
      const message = a.envelope.event.message;
      const found = envelope(await post("/v1/search", { query: `message=${message}`, limit: 10 }, { token }), 200, "Success").result;
      assert.ok(found.events.some((e) => e.hash === a.hash && e.envelope.event.message === message), `${message} (${a.hash}) is not in the log`);
    }
    const out = salogCli(["verify", "--config", cfg.id]);
    assert.match(out, /ok/);
    console.log(`# ${SERVER}: ${kills} workers killed, ${acked.length} events acknowledged (${withoutProof.length} without a proof), ${failures} failed requests, healthy again ${settleMs} ms after the clients stopped, tree size ${latest.size}`);
  });
});
