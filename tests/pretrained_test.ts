/**
 * Pretrained weights: where they come from (nn/pretrained/source.ts), fetching them from a hub
 * served on 127.0.0.1 (data/hub-download.ts: interrupted and resumed, cached, corrupted files
 * rejected), strict loading with every bad key named (nn/pretrained/strict-load.ts), and
 * `--pretrained` end to end for resnet18, whose checkpoint then loads strictly into torchvision's
 * model and comes back through tools/pth-to-safetensors.py when /usr/bin/python3 has torch.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fetchHubFile, type HubFetchOptions } from "../data/hub-download.ts";
import { initTrunkWeights } from "../experiments/train-trunk-weights.ts";
import { trunkNormalisation } from "../experiments/train-data-common.ts";
import { trainSchema } from "../experiments/train-options.ts";
import { saveWeights } from "../nn/checkpoint.ts";
import { buildTrunk, IMAGENET_NORMALISATION, TRUNKS } from "../nn/models/registry.ts";
import { loadTrunkWeights } from "../nn/models/trunk-weights.ts";
import {
  cacheRoot,
  DEFAULT_HUB_URL,
  hubBaseUrl,
  hubCachePath,
  hubFileUrl,
  NoPretrainedWeightsError,
  pretrainedSource,
} from "../nn/pretrained/source.ts";
import { StateDictMismatchError } from "../nn/pretrained/strict-load.ts";
import { manualSeed } from "../nn/random.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsWriteEntry,
} from "../nn/safetensors.ts";
import { tensor } from "../nn/tensor.ts";
import { cpu } from "./support/backends.ts";
import { bytes, exists, serve, type TestServer, withTemp } from "./support/data-server.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

interface HubEntry {
  body: Uint8Array;
  /** The checksum the hub advertises; null: none (a plain mirror); default: the body's. */
  sha256?: string | null;
  /** Close the first transfer after this many bytes. */
  cutFirstAt?: number;
}

/**
 * A hub on 127.0.0.1 that answers like huggingface.co: HEAD and GET on
 * `/<repo>/resolve/main/<file>` redirect to a CDN path, the HEAD's 302 carrying X-Linked-Etag
 * (sha256), X-Linked-Size and X-Repo-Commit; the CDN answers Range requests. Entries without a
 * checksum are served in place with no ETag and a HEAD that is not allowed.
 */
function fakeHub(entries: Record<string, HubEntry>): TestServer {
  const routes: Parameters<typeof serve>[0] = {};
  const srv: { base?: string } = {};
  for (const [i, [repoFile, e]] of Object.entries(entries).entries()) {
    const [owner, name, ...file] = repoFile.split("/");
    const resolve = `/${owner}/${name}/resolve/main/${file.join("/")}`;
    const cdn = `/cdn/${i}`;
    routes[cdn] = { body: e.body, cutFirstAt: e.cutFirstAt };
    if (e.sha256 === null) {
      routes[resolve] = (req) =>
        req.method === "HEAD"
          ? new Response(null, { status: 405 })
          : Response.redirect(`${srv.base}${cdn}`, 302);
      continue;
    }
    routes[resolve] = () =>
      new Response(null, {
        status: 302,
        headers: {
          location: `${srv.base}${cdn}`,
          "x-linked-etag": `"${e.sha256 ?? sha256(e.body)}"`,
          "x-linked-size": String(e.body.length),
          "x-repo-commit": "0123abcd",
        },
      });
  }
  const server = serve(routes);
  srv.base = server.base;
  return server;
}

function hubOptions(base: string, root: string, out: string[] = []): HubFetchOptions {
  return {
    hubUrl: base,
    cacheRoot: root,
    retryDelayMs: 1,
    progress: true,
    progressWrite: (t) => out.push(t),
    log: (line) => out.push(line),
  };
}

const FILE = { repo: "timm/tiny.test", file: "model.safetensors", revision: "main" };

Deno.test("pretrained sources: hub repo per trunk, base URL, cache folder", () => {
  const r101 = pretrainedSource("resnet101");
  assert.equal(r101.repo, "timm/resnet101.tv_in1k");
  assert.equal(r101.file, "model.safetensors");
  assert.deepEqual(r101.normalisation, IMAGENET_NORMALISATION);
  assert.equal(
    hubFileUrl("https://huggingface.co/", r101),
    "https://huggingface.co/timm/resnet101.tv_in1k/resolve/main/model.safetensors",
  );
  // The study's trunks come from these timm repos (the ones registered so far).
  const study: Record<string, string> = {
    resnet101: "resnet101.tv_in1k",
    resnext101_32x8d: "resnext101_32x8d.tv_in1k",
    efficientnet_b3: "efficientnet_b3.ra2_in1k",
    densenet161: "densenet161.tv_in1k",
    inception_v3: "inception_v3.tv_in1k",
  };
  for (const t of TRUNKS.filter((t) => study[t.name])) {
    assert.equal(pretrainedSource(t.name).repo, `timm/${study[t.name]}`, t.name);
    // The data pipeline normalises with what the weights were trained on.
    const o = trainSchema.parse({ testNo: "t", arch: t.name });
    assert.deepEqual(trunkNormalisation(o), pretrainedSource(t.name).normalisation);
  }
  // timm publishes EfficientNet-B6 / B7 only as TF-padded `tf_` ports: no weights in our layout.
  for (const t of TRUNKS.filter((t) => /^efficientnet_b[67]$/.test(t.name))) {
    assert.throws(() => pretrainedSource(t.name), NoPretrainedWeightsError);
  }
  assert.throws(() => pretrainedSource("synth-cnn"), NoPretrainedWeightsError);
  assert.throws(() => pretrainedSource("synth-cnn"), /--weights PATH.*--pretrained false/);

  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(hubBaseUrl(undefined, env({})), DEFAULT_HUB_URL);
  assert.equal(hubBaseUrl(undefined, env({ HF_ENDPOINT: "http://m/" })), "http://m");
  assert.equal(
    hubBaseUrl(undefined, env({ HF_ENDPOINT: "http://m", SDU_HUB_URL: "http://s" })),
    "http://s",
  );
  assert.equal(
    hubBaseUrl("http://127.0.0.1:9/hub/", env({ SDU_HUB_URL: "http://s" })),
    "http://127.0.0.1:9/hub",
  );
  assert.throws(() => hubBaseUrl("ftp://x", env({})), /--hub-url "ftp:\/\/x".*http/);
  assert.throws(() => hubBaseUrl(undefined, env({ SDU_HUB_URL: "nope" })), /\$SDU_HUB_URL "nope"/);

  assert.equal(cacheRoot({ env: env({ SDU_CACHE: "/c", HOME: "/h" }) }), "/c");
  assert.equal(
    cacheRoot({ env: env({ HOME: "/h" }), os: "linux" }),
    join("/h", ".cache", "skin-deep-unlearning"),
  );
  assert.equal(
    cacheRoot({ env: env({ HOME: "/h", XDG_CACHE_HOME: "/x" }), os: "linux" }),
    join("/x", "skin-deep-unlearning"),
  );
  assert.equal(
    cacheRoot({ env: env({ HOME: "/h" }), os: "darwin" }),
    join("/h", "Library", "Caches", "skin-deep-unlearning"),
  );
  assert.equal(
    cacheRoot({ env: env({ LOCALAPPDATA: "C:/L" }), os: "windows" }),
    join("C:/L", "skin-deep-unlearning"),
  );
  assert.throws(() => cacheRoot({ env: env({}), os: "linux" }), /\$SDU_CACHE/);
  assert.equal(
    hubCachePath("/c", r101),
    join("/c", "hub", "timm", "resnet101.tv_in1k", "main", "model.safetensors"),
  );
  assert.throws(() => hubCachePath("/c", { ...FILE, repo: "timm/.." }), /hub repo part "\.\."/);
  assert.throws(() => hubCachePath("/c", { ...FILE, file: "../x" }), /hub file path part/);
  assert.throws(() => hubCachePath("/c", { ...FILE, repo: "timm" }), /not owner\/name/);
});

Deno.test("hub download: interrupted, resumed with Range, then served from the cache", async () => {
  const body = bytes(200_000, 5);
  const hub = fakeHub({ "timm/tiny.test/model.safetensors": { body, cutFirstAt: 70_000 } });
  try {
    await withTemp(async (root) => {
      const out: string[] = [];
      const path = hubCachePath(root, FILE);
      // A run killed mid-transfer (no retries left) keeps the partial file.
      await assert.rejects(
        () => fetchHubFile(FILE, { ...hubOptions(hub.base, root, out), retries: 0 }),
        /download of .*resolve\/main\/model\.safetensors failed/,
      );
      const kept = (await Deno.stat(`${path}.partial`)).size;
      assert.ok(kept > 0 && kept <= 70_000, `partial holds ${kept} bytes`);
      assert.equal(await exists(path), false);

      const got = await fetchHubFile(FILE, hubOptions(hub.base, root, out));
      assert.equal(got.path, path);
      assert.equal(got.downloaded, true);
      assert.equal(got.resumed, true);
      assert.equal(got.sha256, sha256(body));
      assert.deepEqual(await Deno.readFile(path), body);
      assert.equal(hub.log.filter((r) => r.path === "/cdn/0").at(-1)?.range, `bytes=${kept}-`);
      assert.equal(await exists(`${path}.partial`), false);
      const record = JSON.parse(await Deno.readTextFile(`${path}.json`));
      assert.equal(record.checksum, "hub");
      assert.equal(record.commit, "0123abcd");
      assert.equal(record.size, body.length);
      assert.ok(
        out.some((t) => t.includes("timm/tiny.test/model.safetensors") && t.includes("done")),
        `progress bar: ${out.join("|")}`,
      );

      // Cached: verified against the record, no request at all.
      const requests = hub.log.length;
      const again = await fetchHubFile(FILE, hubOptions(hub.base, root));
      assert.equal(again.downloaded, false);
      assert.equal(again.sha256, sha256(body));
      assert.equal(hub.log.length, requests);
    });
  } finally {
    await hub.close();
  }
});

Deno.test("hub download: a corrupt transfer is refused; a damaged copy is refetched", async () => {
  const body = bytes(50_000, 9);
  const hub = fakeHub({
    "timm/bad.test/model.safetensors": { body, sha256: sha256(bytes(50_000, 10)) },
    "timm/tiny.test/model.safetensors": { body },
  });
  try {
    await withTemp(async (root) => {
      const bad = { ...FILE, repo: "timm/bad.test" };
      const badPath = hubCachePath(root, bad);
      await assert.rejects(
        () => fetchHubFile(bad, hubOptions(hub.base, root)),
        /checksum mismatch for model\.safetensors .*the file was removed/,
      );
      for (const p of [badPath, `${badPath}.partial`, `${badPath}.json`]) {
        assert.equal(await exists(p), false, p);
      }

      const out: string[] = [];
      const first = await fetchHubFile(FILE, hubOptions(hub.base, root, out));
      const damaged = await Deno.readFile(first.path);
      damaged[1234] ^= 0xff;
      await Deno.writeFile(first.path, damaged);
      const again = await fetchHubFile(FILE, hubOptions(hub.base, root, out));
      assert.equal(again.downloaded, true);
      assert.deepEqual(await Deno.readFile(first.path), body);
      assert.ok(out.some((l) => /no longer matches its record \(sha256 /.test(l)), out.join("|"));
    });
  } finally {
    await hub.close();
  }
});

Deno.test("hub download: without a hub checksum the first sha256 is recorded", async () => {
  const body = bytes(30_000, 11);
  const hub = fakeHub({ "timm/tiny.test/model.safetensors": { body, sha256: null } });
  try {
    await withTemp(async (root) => {
      const out: string[] = [];
      const got = await fetchHubFile(FILE, hubOptions(hub.base, root, out));
      assert.equal(got.record.checksum, "first-download");
      assert.equal(got.sha256, sha256(body));
      assert.ok(out.some((l) => l.includes("the hub gave no sha256")), out.join("|"));
      await Deno.writeFile(got.path, bytes(30_000, 12));
      const again = await fetchHubFile(FILE, hubOptions(hub.base, root, out));
      assert.equal(again.downloaded, true);
      assert.deepEqual(await Deno.readFile(got.path), body);

      await assert.rejects(
        () => fetchHubFile({ ...FILE, repo: "timm/absent" }, hubOptions(hub.base, root)),
        /timm\/absent\/model\.safetensors: the hub has no such file: HTTP 404 .*put the file at /,
      );
    });
  } finally {
    await hub.close();
  }
});

/** A synth-cnn state dict on the host, editable before it is written. */
async function synthState(width: number): Promise<Map<string, SafetensorsWriteEntry>> {
  const trunk = buildTrunk("synth-cnn", undefined, { backend: cpu, width });
  const host = await trunk.encoder.stateDictHost();
  trunk.encoder.dispose();
  return new Map([...host].map(([k, t]) => [k, { ...t }]));
}

Deno.test("strict loading names every missing, unexpected and mis-shaped key", async () => {
  manualSeed(3);
  const state = await synthState(2);
  const keys = [...state.keys()];
  const weightKeys = keys.filter((k) => k.endsWith(".weight"));
  const [gone, reshaped] = [weightKeys[0], weightKeys[1]];
  const broken = new Map(state);
  broken.delete(gone);
  broken.set(reshaped, { dtype: "f32", shape: [1], data: new Float32Array(1) });
  broken.set("head.extra", { dtype: "f32", shape: [2], data: new Float32Array(2) });
  const model = buildTrunk("synth-cnn", undefined, { backend: cpu, width: 2 });
  const before = await model.encoder.stateDictHost();
  await withTemp(async (dir) => {
    const path = join(dir, "broken.safetensors");
    await Deno.writeFile(path, encodeSafetensors(broken));
    const err = await loadTrunkWeights(model, path).then(
      () => assert.fail("a broken state dict loaded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StateDictMismatchError);
    assert.deepEqual(err.report.missing, [gone]);
    assert.deepEqual(err.report.unexpected, ["head.extra"]);
    assert.deepEqual(err.report.mismatched.map((m) => m.key), [reshaped]);
    assert.match(err.message, new RegExp(`--weights ${path}: not a synth-cnn state dict \\(`));
    assert.match(err.message, /1 missing, 1 unexpected, 1 mis-shaped key\(s\)/);
    assert.ok(err.message.includes(`missing (in synth-cnn, not in the file): ${gone}`));
    assert.ok(err.message.includes("unexpected (in the file, not in synth-cnn): head.extra"));
    const want = state.get(reshaped)!.shape;
    assert.ok(err.message.includes(`size mismatch for ${reshaped}: file [1], synth-cnn [${want}]`));
    // Nothing was written.
    const after = await model.encoder.stateDictHost();
    for (const [k, t] of before) assert.deepEqual(after.get(k)!.data, t.data, k);

    // A DataParallel file: every key prefixed; the hint says so.
    const wrapped = new Map([...state].map(([k, t]) => [`module.${k}`, t]));
    await Deno.writeFile(path, encodeSafetensors(wrapped));
    await assert.rejects(
      () => loadTrunkWeights(model, path),
      /hint: the file's keys start with "module\." .*--strip-prefix module\./,
    );

    // Old torchvision files carry no num_batches_tracked: kept at the model's value, as PyTorch.
    const counters = keys.filter((k) => k.endsWith(".num_batches_tracked"));
    assert.ok(counters.length > 0);
    const old = new Map([...state].filter(([k]) => !counters.includes(k)));
    await Deno.writeFile(path, encodeSafetensors(old));
    const report = await loadTrunkWeights(model, path);
    assert.deepEqual(report.keptCounters, counters);
    assert.equal(report.loaded, keys.length - counters.length);
    const loaded = await model.encoder.stateDictHost();
    for (const [k, t] of old) assert.deepEqual(loaded.get(k)!.data, t.data, k);
  });
  model.encoder.dispose();
});

const PYTHON = "/usr/bin/python3";

/** Whether /usr/bin/python3 has torch and torchvision (REQUIRE_TORCH=1: it must). */
async function torchAvailable(): Promise<boolean> {
  let ok = false;
  try {
    const out = await new Deno.Command(PYTHON, {
      args: [
        "-c",
        "import importlib.util as u, sys; " +
        "sys.exit(0 if u.find_spec('torch') and u.find_spec('torchvision') else 1)",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    ok = out.success;
  } catch {
    ok = false;
  }
  if (!ok && Deno.env.get("REQUIRE_TORCH") === "1") {
    throw new Error(`REQUIRE_TORCH=1 but ${PYTHON} cannot import torch and torchvision`);
  }
  if (!ok) console.warn(`PyTorch round trip skipped: ${PYTHON} lacks torch / torchvision`);
  return ok;
}

async function python(args: string[]): Promise<string> {
  const out = await new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${args[0]} failed:\n${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

Deno.test("--pretrained resnet18 via a local hub; loads strictly in torchvision", async () => {
  manualSeed(4);
  const source = buildTrunk("resnet18", undefined, { backend: cpu });
  const host = await source.encoder.stateDictHost();
  // Published like timm's file: the ImageNet classifier included, no batch-norm counters.
  const published = new Map<string, SafetensorsWriteEntry>(
    [...host].filter(([k]) => !k.endsWith("num_batches_tracked")),
  );
  published.set("fc.weight", {
    dtype: "f32",
    shape: [1000, 512],
    data: new Float32Array(512_000).fill(0.01),
  });
  published.set("fc.bias", { dtype: "f32", shape: [1000], data: new Float32Array(1000) });
  const hub = fakeHub({
    "timm/resnet18.tv_in1k/model.safetensors": { body: encodeSafetensors(published) },
  });
  const trunk = buildTrunk("resnet18", undefined, { backend: cpu });
  const previous = Deno.env.get("SDU_CACHE");
  try {
    await withTemp(async (dir) => {
      Deno.env.set("SDU_CACHE", join(dir, "cache"));
      const lines: string[] = [];
      const origin = await initTrunkWeights(
        trunk,
        { pretrained: true, hubUrl: hub.base, quiet: true },
        { log: (l) => lines.push(l) },
      );
      assert.ok(origin?.path.startsWith(join(dir, "cache", "hub", "timm", "resnet18.tv_in1k")));
      assert.match(lines.join("\n"), /trunk resnet18: ImageNet weights timm\/resnet18\.tv_in1k/);
      const got = await trunk.encoder.stateDictHost();
      for (const [k, t] of published) {
        if (!k.startsWith("fc.")) assert.deepEqual(got.get(k)!.data, t.data, k);
      }
      assert.equal(await initTrunkWeights(trunk, { pretrained: false }), undefined);

      if (!(await torchAvailable())) return;
      // Our checkpoint of the trunk, its eval features on a fixed input, checked by PyTorch.
      const weights = join(dir, "encoder.safetensors");
      await saveWeights(weights, trunk.encoder);
      const shape = [1, 3, 32, 32];
      const input = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
      trunk.encoder.eval();
      const x = tensor(input, shape, { backend: cpu });
      const f = trunk.encoder.forward(x);
      const features = await f.data() as Float32Array;
      f.dispose();
      x.dispose();
      await Deno.writeFile(join(dir, "input.bin"), new Uint8Array(input.buffer));
      await Deno.writeFile(join(dir, "features.bin"), new Uint8Array(features.buffer));
      const pth = join(dir, "resnet18.pth");
      const casePath = join(dir, "case.json");
      await Deno.writeTextFile(
        casePath,
        JSON.stringify({
          arch: "resnet18",
          weights,
          drop: ["fc"],
          input: join(dir, "input.bin"),
          input_shape: shape,
          features: join(dir, "features.bin"),
          pth_out: pth,
        }),
      );
      const result = JSON.parse(
        (await python(["tools/fixtures/torch_load_check.py", casePath])).trim().split("\n").at(-1)!,
      );
      assert.equal(result.keys, host.size);
      assert.ok(result.max_abs > 0);
      assert.ok(
        result.max_abs_diff <= 1e-4 * result.max_abs,
        `features differ by ${result.max_abs_diff} (scale ${result.max_abs})`,
      );

      // torchvision's own file format back: a DataParallel .pth with its classifier.
      const converted = join(dir, "converted.safetensors");
      const said = await python(["tools/pth-to-safetensors.py", pth, converted]);
      assert.match(said, /'state_dict' entry/);
      assert.match(said, /'module\.' \(DataParallel\); stripped/);
      const back = await Deno.readFile(converted).then(decodeSafetensors);
      assert.deepEqual(back.tensors.get("fc.bias")?.shape, [1000]);
      const report = await loadTrunkWeights(source, converted);
      assert.deepEqual(report.keptCounters, []);
      const round = await source.encoder.stateDictHost();
      for (const [k, t] of await trunk.encoder.stateDictHost()) {
        assert.deepEqual(round.get(k)!.data, t.data, k);
      }
    });
  } finally {
    if (previous === undefined) Deno.env.delete("SDU_CACHE");
    else Deno.env.set("SDU_CACHE", previous);
    trunk.encoder.dispose();
    source.encoder.dispose();
    await hub.close();
  }
});
