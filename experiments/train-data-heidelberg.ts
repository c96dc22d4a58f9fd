/**
 * The private Heidelberg test pairs (Winkler et al.): plain + marked under --heid-test_marked,
 * plain + rulers under --heid-test_rulers. The images are read from the folder
 * `heidelbergFolder` names (train-options.ts): `<image-dir>/hh_test_<image-size>` as `deno task
 * download --only heidelberg --heidelberg-dir PATH` prepares it, or the --heidelberg-dir given to
 * train. Either way it holds `Markings/` (plain and marked images) and `Rulers/` (ruler images)
 * with the file names of holger_blank.csv / holger_marked.csv / holger_rulers.csv. The CSVs are
 * taken from that folder when it has them, else from --csv-dir, where the download puts the
 * study's copies. Markings and rulers are known from the set (plain: neither); the instrument is
 * not, and reads -1.
 */

import { buildTestLabels, TEST_SETS, type TestSetName } from "../data/labels.ts";
import { readCsvFile } from "../data/csv.ts";
import type { Normalisation } from "../data/image-decode.ts";
import { heidelbergFolder } from "./train-options.ts";
import { type EvalSet, recordSet, type TrainDataOptions } from "./train-data-common.ts";
import { MissingDataError, requireCsv, requireImages } from "./train-data-files.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** The Heidelberg sets of the chosen pair, by the names metrics.json uses. */
export function heidelbergPair(
  o: Pick<TrainDataOptions, "heidTestMarked" | "heidTestRulers">,
): [string, TestSetName][] {
  const second: [string, TestSetName] = o.heidTestMarked
    ? ["marked", "heid_marked"]
    : ["rulers", "heid_rulers"];
  return [["plain", "heid_plain"], second];
}

/** The two test sets of --heid-test_marked / --heid-test_rulers from --heidelberg-dir. */
export async function heidelbergTests(
  o: TrainDataOptions,
  norm: Normalisation,
): Promise<EvalSet[]> {
  const flag = o.heidTestMarked ? "--heid-test_marked" : "--heid-test_rulers";
  const dir = heidelbergFolder(o);
  if (!(await exists(dir))) {
    throw new MissingDataError(
      `${flag}: the Heidelberg folder ${dir} does not exist; prepare it with \`deno task ` +
        `download --only heidelberg --heidelberg-dir PATH\` (or give --heidelberg-dir), or use ` +
        `--dataset synth for the synthetic pair`,
    );
  }
  const layout = { imageDir: o.imageDir, imageSize: o.imageSize };
  const sets: EvalSet[] = [];
  for (const [name, set] of heidelbergPair(o)) {
    const spec = TEST_SETS[set];
    const own = `${dir}/${spec.csv}`;
    const file = (await exists(own)) ? own : `${o.csvDir}/${spec.csv}`;
    await requireCsv(file, layout);
    const records = buildTestLabels(set, await readCsvFile(file), layout, file)
      .map((r) => ({ ...r, instrument: -1, filepath: `${dir}/${spec.sub}${r.imageName}` }));
    await requireImages(
      `Heidelberg ${name} set (${file})`,
      records,
      layout,
      `${dir} must hold ${spec.sub} with the file names of ${spec.csv} (prepare it with ` +
        `\`deno task download --only heidelberg --heidelberg-dir PATH\`)`,
    );
    sets.push(recordSet(name, records, o, norm));
  }
  return sets;
}
