/** File names of figures: test-set names become safe file stems. */

/** A file name for a test-set or figure name: anything but letters, digits, `.-_` becomes `_`. */
export function fileStem(name: string): string {
  const stem = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_");
  if (!stem) throw new Error(`plot: cannot make a file name from ${JSON.stringify(name)}`);
  return stem;
}
