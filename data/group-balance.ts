/**
 * Group-balanced resampling, the data-level debiasing baseline beside the study's unlearning
 * methods: every (label, bias) group is drawn equally often, so a bias that agrees with the label
 * in the training set is independent of it in what the model sees (at the price of repeating the
 * rare groups' samples). Pass the weights to the DataLoader's `sampleWeights`.
 */

/** Per-sample weights and the size of each group, keyed "label/bias1/bias2...". */
export interface GroupBalance {
  weights: Float64Array;
  groups: Map<string, number>;
}

/** Weight 1 / (size of the sample's group) for groups of the label and every bias column. */
export function groupBalancedWeights(
  labels: ArrayLike<number>,
  biases: Record<string, ArrayLike<number>>,
): GroupBalance {
  const n = labels.length;
  const columns = Object.entries(biases);
  for (const [name, column] of columns) {
    if (column.length !== n) {
      throw new Error(`group balance: bias column "${name}" has ${column.length} of ${n} values`);
    }
  }
  const keys = Array.from(
    { length: n },
    (_, i) => [labels[i], ...columns.map(([, c]) => c[i])].join("/"),
  );
  const groups = new Map<string, number>();
  for (const k of keys) groups.set(k, (groups.get(k) ?? 0) + 1);
  return { weights: Float64Array.from(keys, (k) => 1 / groups.get(k)!), groups };
}
