/**
 * A small RFC 4180 CSV reader/writer for the study's annotation files.
 *
 * Why not split on commas: the Atlas and Fitzpatrick17k CSVs hold free-text
 * columns that may contain quoted commas, quotes and newlines. Every error
 * names the file (and line) so a wrong or truncated download is easy to spot.
 */

/** One parsed row: column name to raw cell text (empty string for a missing value). */
export type CsvRow = Record<string, string>;

/** Parsed rows that remember the header, so an empty file still knows its columns. */
export type CsvRows = CsvRow[] & { columns: string[] };

function csvError(fileName: string, line: number, message: string): Error {
  return new Error(`${fileName}, line ${line}: ${message}`);
}

/** Splits CSV text into records of fields; quoted fields may hold commas, quotes and newlines. */
function splitRecords(text: string, fileName: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let fieldStarted = false;
  let quoteOpenedAt = 0;
  const endRecord = () => {
    fields.push(field);
    records.push({ fields, line: recordLine });
    fields = [];
    field = "";
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field.length > 0) {
        throw csvError(fileName, line, `stray quote inside an unquoted field ("${field}...")`);
      }
      inQuotes = true;
      fieldStarted = true;
      quoteOpenedAt = line;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
      fieldStarted = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (inQuotes) {
    throw csvError(fileName, quoteOpenedAt, "quoted field is never closed (truncated file?)");
  }
  if (fieldStarted || fields.length > 0) endRecord();
  return records;
}

/**
 * Parses CSV text with a header line. Blank lines are skipped; a row with more
 * or fewer fields than the header is an error naming the line. pandas pads a
 * short row with NaN, which is how a download cut mid-row used to keep its
 * last row with made-up zeros; an empty cell (`a,,b`) is still a missing value.
 */
export function parseCsv(text: string, fileName = "<csv>"): CsvRows {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records = splitRecords(body, fileName).filter((r) =>
    !(r.fields.length === 1 && r.fields[0] === "")
  );
  if (records.length === 0) throw new Error(`${fileName}: empty CSV file (no header line)`);
  const columns = records[0].fields.map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw csvError(fileName, 1, `duplicate column name "${c}"`);
    seen.add(c);
  }
  const rows = [] as unknown as CsvRows;
  rows.columns = columns;
  for (const { fields, line } of records.slice(1)) {
    if (fields.length > columns.length) {
      throw csvError(
        fileName,
        line,
        `${fields.length} fields but the header has ${columns.length} columns`,
      );
    }
    if (fields.length < columns.length) {
      throw csvError(
        fileName,
        line,
        `${fields.length} of the header's ${columns.length} fields (a row cut short: ` +
          `truncated download?); missing "${columns.slice(fields.length).join('", "')}"`,
      );
    }
    const row: CsvRow = {};
    for (let c = 0; c < columns.length; c++) row[columns[c]] = fields[c];
    rows.push(row);
  }
  return rows;
}

/** Reads and parses a CSV file; the error for a missing file says which file. */
export async function readCsvFile(path: string): Promise<CsvRows> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`CSV file not found: ${path} (run the download command first?)`);
    }
    throw err;
  }
  return parseCsv(text, path);
}

/** Fails, naming the missing column(s) and the file, when a CSV lacks columns the code needs. */
export function requireColumns(
  rows: CsvRow[] | CsvRows,
  cols: readonly string[],
  fileName: string,
): void {
  const present = new Set(
    "columns" in rows && Array.isArray(rows.columns) ? rows.columns : Object.keys(rows[0] ?? {}),
  );
  const missing = cols.filter((c) => !present.has(c));
  if (missing.length > 0) {
    const label = missing.length === 1 ? "column" : "columns";
    throw new Error(
      `${fileName}: missing required ${label} ${missing.map((m) => `"${m}"`).join(", ")} ` +
        `(found: ${[...present].join(", ")})`,
    );
  }
}

/**
 * Parses a numeric cell, with pandas' spellings ("1.0", "nan"); an empty or
 * NaN cell gives `fallback` when one is given and an error otherwise.
 */
export function numberCell(
  row: CsvRow,
  column: string,
  fileName: string,
  rowIndex: number,
  fallback?: number,
): number {
  const raw = (row[column] ?? "").trim();
  if (raw === "" || raw.toLowerCase() === "nan") {
    if (fallback !== undefined) return fallback;
    throw new Error(`${fileName}, row ${rowIndex + 1}: column "${column}" is empty`);
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new Error(
      `${fileName}, row ${rowIndex + 1}: column "${column}" is not a number: "${raw}"`,
    );
  }
  return value;
}

function quoteField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Serialises rows to CSV text (header first), quoting only where needed. */
export function toCsv(
  columns: readonly string[],
  rows: readonly Record<string, string | number>[],
): string {
  const lines = [columns.map(quoteField).join(",")];
  for (const row of rows) {
    lines.push(columns.map((c) => quoteField(String(row[c] ?? ""))).join(","));
  }
  return lines.join("\n") + "\n";
}
