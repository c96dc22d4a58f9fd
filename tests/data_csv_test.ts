import assert from "node:assert/strict";
import { numberCell, parseCsv, readCsvFile, requireColumns, toCsv } from "../data/csv.ts";

Deno.test("parseCsv reads quoted fields with commas, quotes, newlines, CRLF and a BOM", () => {
  const text = '\ufeffname,note,n\r\n"a, b","say ""hi""",1\r\nc,"two\nlines",\r\n\r\nd,,3\n';
  const rows = parseCsv(text, "t.csv");
  assert.deepEqual(rows.columns, ["name", "note", "n"]);
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0], { name: "a, b", note: 'say "hi"', n: "1" });
  assert.deepEqual(rows[1], { name: "c", note: "two\nlines", n: "" });
  assert.deepEqual(rows[2], { name: "d", note: "", n: "3" });
});

Deno.test("parseCsv refuses rows cut short, and names file and line for broken input", () => {
  // A download that ends mid-row: refused, not padded as pandas would (issue 17).
  assert.throws(
    () => parseCsv("image_name,target,marked\nx.jpg,1,0\ny.jpg,1\n", "s.csv"),
    /s\.csv, line 3: 2 of the header's 3 fields \(a row cut short.*missing "marked"/,
  );
  assert.deepEqual(parseCsv("a,b\n1,\n", "s.csv")[0], { a: "1", b: "" });
  assert.throws(() => parseCsv('a,b\n1,"open\n', "q.csv"), /q\.csv, line 2: quoted field/);
  assert.throws(() => parseCsv("a,b\n1,2\n1,2,3\n", "w.csv"), /w\.csv, line 3: 3 fields/);
  assert.throws(() => parseCsv("a,a\n", "d.csv"), /duplicate column name "a"/);
  assert.throws(() => parseCsv("", "e.csv"), /e\.csv: empty CSV/);
  assert.throws(() => parseCsv('a\nx"y\n', "s.csv"), /s\.csv, line 2: stray quote/);
});

Deno.test("requireColumns names the missing column and the file", () => {
  const rows = parseCsv("image_name,target\nx.jpg,1\n", "labels.csv");
  requireColumns(rows, ["image_name", "target"], "labels.csv");
  assert.throws(
    () => requireColumns(rows, ["image_name", "marked"], "labels.csv"),
    (err: Error) => err.message.includes('"marked"') && err.message.startsWith("labels.csv"),
  );
  // A header-only file still knows its columns.
  const empty = parseCsv("image_name\n", "h.csv");
  assert.equal(empty.length, 0);
  assert.throws(
    () => requireColumns(empty, ["target"], "h.csv"),
    /h\.csv: missing required column "target"/,
  );
  // Plain arrays of records work too (columns taken from the first row).
  assert.throws(() => requireColumns([{ a: "1" }], ["b"], "p.csv"), /"b"/);
});

Deno.test("numberCell parses pandas spellings and rejects junk naming column and value", () => {
  const row = { a: "1.0", b: "nan", c: "x1", d: "" };
  assert.equal(numberCell(row, "a", "f.csv", 0), 1);
  assert.equal(numberCell(row, "b", "f.csv", 0, 7), 7);
  assert.throws(() => numberCell(row, "d", "f.csv", 4), /f\.csv, row 5: column "d" is empty/);
  assert.throws(() => numberCell(row, "c", "f.csv", 0), /column "c" is not a number: "x1"/);
});

Deno.test("toCsv quotes what needs quoting and round-trips through parseCsv", async () => {
  const rows = [{ a: 'x,"y"', b: 2 }, { a: "line\nbreak", b: "" }];
  const text = toCsv(["a", "b"], rows);
  assert.equal(text, 'a,b\n"x,""y""",2\n"line\nbreak",\n');
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/r.csv`, text);
    const back = await readCsvFile(`${dir}/r.csv`);
    assert.deepEqual([...back], [{ a: 'x,"y"', b: "2" }, { a: "line\nbreak", b: "" }]);
    await assert.rejects(
      () => readCsvFile(`${dir}/missing.csv`),
      /CSV file not found: .*missing\.csv/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
