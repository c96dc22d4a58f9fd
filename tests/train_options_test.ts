/**
 * `cli.ts train` options: every training command of the study's README parses, unchanged, to
 * the configuration it meant (flags, heads, presets), and each bad option gets its message.
 */

import nodeAssert from "node:assert/strict";
import { resolveTrainArgv } from "../cli/train-invocation.ts";
import { debiasSettingsOf, describeConfig } from "../experiments/train-config.ts";
import { PRESETS, studyCommand } from "../experiments/presets.ts";
import { trainSchema } from "../experiments/train-options.ts";
import { optionSpecs } from "../experiments/option-schema.ts";

const assert = (cond: unknown, msg: string) => nodeAssert.ok(cond, msg);
const assertEquals = <T>(a: T, b: T, msg?: string) => nodeAssert.deepStrictEqual(a, b, msg);
function assertStringIncludes(text: string, part: string): void {
  nodeAssert.ok(text.includes(part), `expected ${JSON.stringify(part)} in:\n${text}`);
}

/** The study's README commands, verbatim (python train.py dropped). */
const STUDY = {
  9: "--test-no 9 --n-epochs 4 --CUDA_VISIBLE_DEVICES 0,1",
  10:
    "--test-no 10 --n-epochs 4 --debias-config LNTL --GRL --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8",
  11:
    "--test-no 11 --n-epochs 4 --debias-config TABE --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8",
  12:
    "--test-no 12 --n-epochs 4 --debias-config TABE --GRL --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8",
  1: "--test-no 1 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --marked --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_marked",
  2: "--test-no 2 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --debias-config LNTL --GRL --marked --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_marked",
  3: "--test-no 3 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --debias-config TABE --marked --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_marked",
  4: "--test-no 4 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --debias-config TABE --GRL --marked --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_marked",
  5: "--test-no 5 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --rulers --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_rulers",
  6: "--test-no 6 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --debias-config LNTL --GRL --rulers --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_rulers",
  7: "--test-no 7 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --debias-config TABE --rulers --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_rulers",
  8: "--test-no 8 --arch enet --enet-type efficientnet_b3 --n-epochs 15 --debias-config TABE --GRL --rulers --CUDA_VISIBLE_DEVICES 0,1 --skew --heid-test_rulers",
  21:
    "--test-no 21 --n-epochs 4 --debias-config doubleTABE --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8 --lr-class 0.0003",
  22:
    "--test-no 22 --n-epochs 4 --debias-config doubleTABE --GRL --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8 --lr-class 0.0003",
  23:
    "--test-no 23 --n-epochs 4 --debias-config both --GRL --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8 --lr-class 0.0003",
  24:
    "--test-no 24 --n-epochs 4 --debias-config both --GRL --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux2 8 --switch-heads --lr-class 0.0003",
  25:
    "--test-no 25 --n-epochs 4 --debias-config both --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8 --lr-class 0.0003",
  26:
    "--test-no 26 --n-epochs 4 --debias-config both --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux2 8 --switch-heads --lr-class 0.0003",
  27:
    "--test-no 27 --n-epochs 4 --debias-config doubleLNTL --instrument --CUDA_VISIBLE_DEVICES 0,1 --num-aux 8 --lr-class 0.0003",
} as const;

type Head = [column: string, classes: number, method: string];

/** What each command meant: trunk, epochs, method, GRL, heads (column, classes, method). */
const MEANT: Record<string, { arch: string; epochs: number; grl: boolean; heads: Head[] }> = {
  9: { arch: "resnext101", epochs: 4, grl: false, heads: [] },
  10: { arch: "resnext101", epochs: 4, grl: true, heads: [["instrument", 8, "LNTL"]] },
  11: { arch: "resnext101", epochs: 4, grl: false, heads: [["instrument", 8, "TABE"]] },
  12: { arch: "resnext101", epochs: 4, grl: true, heads: [["instrument", 8, "TABE"]] },
  1: { arch: "enet", epochs: 15, grl: false, heads: [] },
  2: { arch: "enet", epochs: 15, grl: true, heads: [["marked", 2, "LNTL"]] },
  3: { arch: "enet", epochs: 15, grl: false, heads: [["marked", 2, "TABE"]] },
  4: { arch: "enet", epochs: 15, grl: true, heads: [["marked", 2, "TABE"]] },
  5: { arch: "enet", epochs: 15, grl: false, heads: [] },
  6: { arch: "enet", epochs: 15, grl: true, heads: [["scale", 2, "LNTL"]] },
  7: { arch: "enet", epochs: 15, grl: false, heads: [["scale", 2, "TABE"]] },
  8: { arch: "enet", epochs: 15, grl: true, heads: [["scale", 2, "TABE"]] },
};
const doubles: [number, boolean, string, string, boolean][] = [
  [21, false, "TABE", "TABE", false],
  [22, true, "TABE", "TABE", false],
  [23, true, "LNTL", "TABE", false],
  [24, true, "LNTL", "TABE", true],
  [25, false, "LNTL", "TABE", false],
  [26, false, "LNTL", "TABE", true],
  [27, false, "LNTL", "LNTL", false],
];
for (const rulers of [false, true]) {
  for (const [n, grl, m1, m2, switched] of doubles) {
    const second = rulers ? "scale" : "marked";
    // --switch-heads swaps the labels, not the methods: head 1 then sees the artefact.
    const cols = switched ? [second, "instrument"] : ["instrument", second];
    const classes = switched ? [2, 8] : [8, 2];
    MEANT[rulers ? `${n}-rulers` : String(n)] = {
      arch: "resnext101",
      epochs: 4,
      grl,
      heads: [[cols[0], classes[0], m1], [cols[1], classes[1], m2]],
    };
  }
}

/** Runs `fn` inside a temp folder that holds the Heidelberg images' folder, as download leaves it. */
async function inStudyFolder(fn: () => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const before = Deno.cwd();
  await Deno.mkdir(`${dir}/data/images/hh_test_256`, { recursive: true });
  Deno.chdir(dir);
  try {
    await fn();
  } finally {
    Deno.chdir(before);
    await Deno.remove(dir, { recursive: true });
  }
}

function studyArgv(id: string): string[] {
  const base = id.replace("-rulers", "") as unknown as keyof typeof STUDY;
  let cmd: string = STUDY[base];
  if (id.endsWith("-rulers")) cmd = cmd.replace("--instrument", "--instrument --rulers");
  return cmd.split(" ");
}

Deno.test("every training command of the study parses to the configuration it meant", async () => {
  await inStudyFolder(async () => {
    assertEquals(Object.keys(MEANT).length, 26);
    for (const [id, meant] of Object.entries(MEANT)) {
      const { options: o, sources } = await resolveTrainArgv(studyArgv(id));
      const where = `test ${id}`;
      assertEquals(o.testNo, id.replace("-rulers", ""), where);
      assertEquals(o.arch, meant.arch, where);
      if (meant.arch === "enet") assertEquals(o.enetType, "efficientnet_b3", where);
      assertEquals(o.nEpochs, meant.epochs, where);
      assertEquals(o.CUDA_VISIBLE_DEVICES, "0,1", where);
      assertEquals(sources.CUDA_VISIBLE_DEVICES, "command line", where);
      const s = debiasSettingsOf(o);
      assertEquals(s.grl, meant.grl, where);
      assertEquals(s.heads.map((h) => [h.column, h.classes, h.method]), meant.heads, where);
      if (Number(id.split("-")[0]) <= 8) {
        assert(o.skew, `${where}: --skew`);
        assertEquals(o.heidTestMarked, Number(id) <= 4, where);
        assertEquals(o.heidTestRulers, Number(id) >= 5, where);
      }
      if (Number(id.split("-")[0]) >= 21) assertEquals(o.lrClass, 0.0003, where);
      else assertEquals(o.lrClass, 0.003, where);
    }
  });
});

Deno.test("each preset, run bare with --test-no, equals the study's command", async () => {
  await inStudyFolder(async () => {
    assertEquals(PRESETS.length, 26);
    for (const p of PRESETS) {
      const bare = await resolveTrainArgv(["--test-no", p.id]);
      const study = await resolveTrainArgv([...studyArgv(p.id), "--test-no", p.id]);
      const { CUDA_VISIBLE_DEVICES: _a, ...a } = bare.options;
      const { CUDA_VISIBLE_DEVICES: _b, ...b } = study.options;
      assertEquals(a, b, `preset ${p.id}`);
      assertStringIncludes(studyCommand(p), `--test-no ${p.id.replace("-rulers", "")}`);
    }
  });
});

Deno.test("the design card's `train --test-no 12 --debias-config TABE --GRL` takes 12's preset", async () => {
  const c = await resolveTrainArgv(["--test-no", "12", "--debias-config", "TABE", "--GRL"]);
  assertEquals(c.options.instrument, true);
  assertEquals(c.options.numAux, 8);
  assertEquals(c.options.nEpochs, 4);
  assertEquals(c.sources.instrument, "preset");
  const mine = await resolveTrainArgv([
    "--test-no",
    "1",
    "--dataset",
    "synth",
    "--arch",
    "resnet18",
  ]);
  assertEquals(mine.options.arch, "resnet18");
  assertEquals(c.sources.debiasConfig, "command line");
  assertEquals(c.sources.batchSize, "default");
  const text = describeConfig(c);
  assertStringIncludes(text, "preset 12");
  assertStringIncludes(text, "instrument: true  [preset]");
  assertStringIncludes(text, 'debiasConfig: "TABE"  [command line]');
});

Deno.test("the command line overrides the preset; --no-preset turns it off", async () => {
  const over = await resolveTrainArgv(["--test-no", "12", "--n-epochs", "2"]);
  assertEquals(over.options.nEpochs, 2);
  assertEquals(over.sources.nEpochs, "command line");
  const off = await resolveTrainArgv(["--test-no", "12", "--no-preset"]);
  assertEquals(off.options.instrument, false);
  assertEquals(off.options.nEpochs, 15);
  assertEquals(off.preset, undefined);
});

Deno.test("--dataset synth runs every preset offline, Heidelberg flags included", async () => {
  for (const p of PRESETS) {
    const c = await resolveTrainArgv(["--test-no", p.id, "--dataset", "synth"]);
    assertEquals(c.options.dataset, "synth");
    assertEquals([c.options.arch, c.options.imageSize], ["synth-cnn", 64]);
    assertEquals(c.sources.arch, "synth default");
  }
});

Deno.test("tidy aliases mean the same as the study's spellings", async () => {
  const a = await resolveTrainArgv([
    "--test-no",
    "x1",
    "--debug",
    "--grl",
    "--debias-config",
    "TABE",
    "--marked",
    "--duplications-m",
    "5",
    "--dataset",
    "synth",
    "--heid-test-marked",
  ]);
  assert(a.options.DEBUG && a.options.GRL && a.options.heidTestMarked, "aliases");
  assertEquals(a.options.duplicationsM, 5);
  const clgr = await resolveTrainArgv(["--test-no", "x2", "--debias-config", "CLGR", "--marked"]);
  assertEquals(debiasSettingsOf(clgr.options).grl, true);
});

/** The message a bad invocation is refused with. */
async function refusal(argv: string[]): Promise<string> {
  try {
    await resolveTrainArgv(argv);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
}

Deno.test("bad options are refused with a message naming the option and the fix", async () => {
  const quietly = async (argv: string[]) => {
    const write = Deno.stderr.writeSync;
    // commander prints its own line too; the thrown message is what the test reads.
    Deno.stderr.writeSync = (p) => p.length;
    try {
      return await refusal(argv);
    } finally {
      Deno.stderr.writeSync = write;
    }
  };
  assertStringIncludes(
    await quietly(["--test-no", "1", "--lr-bse", "0.1"]),
    "Did you mean --lr-base?",
  );
  assertStringIncludes(await quietly(["--test-no", "1", "--n-epochs", "x"]), "--n-epochs");
  assertStringIncludes(await quietly(["--n-epochs", "2"]), "--test-no");
  assertStringIncludes(await quietly(["--test-no", "1", "--dataset", "MNIST"]), "ISIC");
  const switched = await refusal([
    "--test-no",
    "x",
    "--debias-config",
    "TABE",
    "--marked",
    "--switch-heads",
  ]);
  assertStringIncludes(switched, "--switch-heads");
  assertStringIncludes(switched, "doubleTABE");
  const heid = await refusal(["--test-no", "x", "--heid-test_marked", "--image-dir", "/nowhere"]);
  assertStringIncludes(heid, "--heid-test_marked");
  assertStringIncludes(heid, "deno task download --only heidelberg");
  const aux = await refusal([
    "--test-no",
    "x",
    "--debias-config",
    "TABE",
    "--instrument",
    "--num-aux",
    "2",
  ]);
  assertStringIncludes(aux, "--num-aux 8");
  const label = await refusal(["--test-no", "x", "--debias-config", "LNTL"]);
  assertStringIncludes(label, "--marked, --rulers or --instrument");
  assertStringIncludes(await refusal(["--test-no", "a b"]), "--test-no");
});

Deno.test("every option's default and help come from the schema alone", () => {
  const specs = optionSpecs(trainSchema);
  const byFlag = new Map(specs.map((s) => [s.flags.split(" ")[0], s]));
  for (
    const flag of [
      "--CUDA_VISIBLE_DEVICES",
      "--DEBUG",
      "--GRL",
      "--heid-test_marked",
      "--heid-test_rulers",
      "--duplications_m",
      "--duplications_r",
      "--num-workers",
      "--lr-base",
      "--no-preset",
    ]
  ) assert(byFlag.has(flag), `${flag} is an option`);
  assertEquals(byFlag.get("--lr-base")?.defaultValue, 0.0003);
  assertEquals(byFlag.get("--duplications_m")?.defaultValue, 20);
  assertEquals(byFlag.get("--arch")?.defaultValue, "resnext101");
  for (const s of specs) assert(s.description.length > 0, `${s.key} has help`);
});
