/**
 * The study's experiments as presets: each test number's flags exactly as the study's README ran
 * them (less `--test-no` and the machine-specific `--CUDA_VISIBLE_DEVICES 0,1`). With
 * `train --test-no N` the preset's flags are the defaults the command line overrides. The
 * double-header experiments 21-27 ran twice in the study, with markings and with rulers; here
 * `21` is the markings variant and `21-rulers` the rulers one.
 */

export interface Preset {
  /** The --test-no that selects it. */
  id: string;
  /** What the study called it. */
  title: string;
  /** The study's group of experiments. */
  group: "instrument" | "markings" | "rulers" | "double-markings" | "double-rulers";
  /** The flags, as argv words. */
  args: string[];
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);

const ENET = "--arch enet --enet-type efficientnet_b3 --n-epochs 15";
const DOUBLE = "--n-epochs 4 --instrument";

function artefactPresets(
  first: number,
  group: "markings" | "rulers",
  label: "--marked" | "--rulers",
  test: string,
): Preset[] {
  const methods: [string, string][] = [
    ["baseline", ""],
    ["LNTL", "--debias-config LNTL --GRL"],
    ["TABE", "--debias-config TABE"],
    ["CLGR", "--debias-config TABE --GRL"],
  ];
  return methods.map(([title, flags], i) => ({
    id: String(first + i),
    title: `${title} (${group === "markings" ? "surgical markings" : "rulers"})`,
    group,
    args: words(`${ENET} ${flags} ${label} --skew ${test}`),
  }));
}

function doublePresets(rulers: boolean): Preset[] {
  const second = rulers ? "rulers" : "marks";
  const extra = rulers ? " --rulers" : "";
  const rows: [number, string, string][] = [
    [21, `TABE (instrument) + TABE (${second})`, "--debias-config doubleTABE --num-aux 8"],
    [22, `CLGR (instrument) + CLGR (${second})`, "--debias-config doubleTABE --GRL --num-aux 8"],
    [23, `LNTL (instrument) + CLGR (${second})`, "--debias-config both --GRL --num-aux 8"],
    [
      24,
      `CLGR (instrument) + LNTL (${second})`,
      "--debias-config both --GRL --num-aux2 8 --switch-heads",
    ],
    [25, `LNTL (instrument) + TABE (${second})`, "--debias-config both --num-aux 8"],
    [
      26,
      `TABE (instrument) + LNTL (${second})`,
      "--debias-config both --num-aux2 8 --switch-heads",
    ],
    [27, `LNTL (instrument) + LNTL (${second})`, "--debias-config doubleLNTL --num-aux 8"],
  ];
  return rows.map(([n, title, flags]) => ({
    id: rulers ? `${n}-rulers` : String(n),
    title,
    group: rulers ? "double-rulers" : "double-markings",
    args: words(`${DOUBLE} ${flags}${extra} --lr-class 0.0003`),
  }));
}

/** Every preset, in the study's order. */
export const PRESETS: readonly Preset[] = [
  ...artefactPresets(1, "markings", "--marked", "--heid-test_marked"),
  ...artefactPresets(5, "rulers", "--rulers", "--heid-test_rulers"),
  { id: "9", title: "baseline (instrument)", group: "instrument", args: words("--n-epochs 4") },
  {
    id: "10",
    title: "LNTL (instrument)",
    group: "instrument",
    args: words("--n-epochs 4 --debias-config LNTL --GRL --instrument --num-aux 8"),
  },
  {
    id: "11",
    title: "TABE (instrument)",
    group: "instrument",
    args: words("--n-epochs 4 --debias-config TABE --instrument --num-aux 8"),
  },
  {
    id: "12",
    title: "CLGR (instrument)",
    group: "instrument",
    args: words("--n-epochs 4 --debias-config TABE --GRL --instrument --num-aux 8"),
  },
  ...doublePresets(false),
  ...doublePresets(true),
];

/** The preset a --test-no names, if any. */
export function findPreset(testNo: string): Preset | undefined {
  return PRESETS.find((p) => p.id === testNo);
}

/** The study's command line for a preset, as its README wrote it. */
export function studyCommand(p: Preset): string {
  return `python train.py --test-no ${p.id.replace("-rulers", "")} ${p.args.join(" ")}`;
}
