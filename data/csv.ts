/**
 * Numeric CSV: RFC 4180 fields (quotes, doubled quotes, delimiters and newlines inside quotes),
 * LF or CRLF line ends, an optional header row, into one `[rows, cols]` tensor.
 * @module
 */
import * as k from "../core/mod.ts";
import { readMaybeGzip } from "./_io.ts";
import {
  checkBool,
  checkOneOf,
  checkOptions,
  checkString,
  shapeError,
  typeError,
} from "./_errors.ts";

/** Options of `data.parseCsv` and `data.loadCsv`. */
export interface CsvOptions {
  /**
   * Whether the first row holds column names. Default: detected — the first row is a header
   * when none of its cells is a number (and not all are empty); pass `true` for numeric names.
   */
  header?: boolean;
  /** Field separator, one character (default `,`). */
  delimiter?: string;
  /**
   * Result dtype (default float32). Empty cells read as NaN in float dtypes and are an error
   * in int32, as are non-integers.
   */
  dtype?: "float32" | "float64" | "int32";
}

/** What `data.parseCsv` returns. */
export interface CsvData {
  /** Column names from the header row, or null without one. */
  columns: string[] | null;
  /** The values, `[rows, cols]`. */
  data: k.Tensor;
}

/** One record: its fields and the line it starts on (1-based). */
interface CsvRecord {
  fields: string[];
  line: number;
}

/** Splits text into records of fields; fully empty lines are skipped. */
function splitRecords(text: string, delim: string, op: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte-order mark
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let quotedAny = false;
    for (;;) {
      // One field, starting at i.
      let value: string;
      if (text[i] === '"') {
        quotedAny = true;
        const parts: string[] = [];
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) {
            throw shapeError(op, `line ${line}: unterminated quoted field`);
          }
          const chunk = text.slice(j, q);
          for (let c = chunk.indexOf("\n"); c >= 0; c = chunk.indexOf("\n", c + 1)) line++;
          parts.push(chunk);
          if (text[q + 1] === '"') {
            parts.push('"');
            j = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        value = parts.join("");
        let j2 = i;
        while (j2 < n && (text[j2] === " " || text[j2] === "\t") && text[j2] !== delim) j2++;
        if (j2 < n && text[j2] !== delim && text[j2] !== "\n" && text[j2] !== "\r") {
          throw shapeError(op, `line ${line}: unexpected text after a closing quote`);
        }
        i = j2;
      } else {
        let j = i;
        while (j < n && text[j] !== delim && text[j] !== "\n" && text[j] !== "\r") j++;
        value = text.slice(i, j);
        if (value.includes('"')) {
          throw shapeError(
            op,
            `line ${line}: a quote inside an unquoted field (quote the whole field)`,
          );
        }
        i = j;
      }
      fields.push(value);
      if (i < n && text[i] === delim) {
        i++;
        continue;
      }
      break;
    }
    // End of record: a newline (LF, CRLF or lone CR) or the end of the text.
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    line++;
    if (fields.length === 1 && fields[0] === "" && !quotedAny) continue; // blank line
    records.push({ fields, line: start });
  }
  return records;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;

/** A cell as a number, or undefined when it is not one; "" gives NaN. */
function cellValue(cell: string): number | undefined {
  const s = cell.trim();
  if (s === "") return NaN;
  if (NUMBER.test(s)) return Number(s);
  const m = SPECIAL.exec(s);
  if (!m) return undefined;
  if (m[2].toLowerCase() === "nan") return NaN;
  return m[1] === "-" ? -Infinity : Infinity;
}

/**
 * Parses numeric CSV text into `{columns, data}`: `data` is a `[rows, cols]` tensor, `columns`
 * the header's names (or null). Fields may be quoted (`"1,5"` is one field, `""` a literal
 * quote, quoted newlines allowed); LF and CRLF line ends, a byte-order mark and blank lines
 * (a trailing one included) are fine. Cells may be padded with spaces; `nan`, `inf`, `-inf`
 * are accepted; an empty cell is NaN (an error for int32). A cell that is not a number, or a
 * row with another number of fields, throws an Error naming the line and column.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const { columns, data } = k.data.parseCsv("a,b\n1,2\n3,4.5\n");
 * console.log(columns, data.shape); // ["a", "b"] [2, 2]
 * ```
 */
export function parseCsv(text: string, opts: CsvOptions = {}): CsvData {
  checkString("data.parseCsv", text, "text");
  return decodeCsv(text, checkCsvOptions("data.parseCsv", opts), "data.parseCsv");
}

function checkCsvOptions(op: string, opts: CsvOptions | undefined): CsvOptions {
  const o = checkOptions(op, opts, ["header", "delimiter", "dtype"]);
  if (o.header !== undefined) checkBool(op, o.header, "header");
  if (o.delimiter !== undefined) checkString(op, o.delimiter, "delimiter");
  if (o.dtype !== undefined) checkOneOf(op, o.dtype, ["float32", "float64", "int32"], "dtype");
  return o;
}

/** `data.parseCsv` with the name used in error messages. */
function decodeCsv(text: string, opts: CsvOptions, op: string): CsvData {
  const delim = opts.delimiter ?? ",";
  if (delim.length !== 1 || delim === '"' || delim === "\n" || delim === "\r") {
    throw shapeError(
      op,
      `delimiter must be one character other than a quote or a newline, got ` +
        JSON.stringify(delim),
    );
  }
  const dtype = opts.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64" && dtype !== "int32") {
    throw typeError(op, `dtype must be float32, float64 or int32, got ${String(dtype)}`);
  }
  const records = splitRecords(text, delim, op);
  const header = opts.header ??
    (records.length > 0 && records[0].fields.some((f) => f.trim() !== "") &&
      records[0].fields.every((f) => f.trim() === "" || cellValue(f) === undefined));
  const columns = header && records.length > 0 ? records[0].fields.map((f) => f.trim()) : null;
  const rows = header ? records.slice(1) : records;
  const cols = columns?.length ?? rows[0]?.fields.length ?? 0;
  const out = dtype === "float64"
    ? new Float64Array(rows.length * cols)
    : dtype === "int32"
    ? new Int32Array(rows.length * cols)
    : new Float32Array(rows.length * cols);
  rows.forEach((rec, r) => {
    if (rec.fields.length !== cols) {
      throw shapeError(
        op,
        `line ${rec.line}: ${rec.fields.length} fields, expected ${cols}` +
          (columns ? " (as in the header)" : " (as in the first row)"),
      );
    }
    rec.fields.forEach((cell, c) => {
      const v = cellValue(cell);
      const where = () =>
        `${op}: line ${rec.line}, column ${c + 1}` +
        (columns ? ` (${JSON.stringify(columns[c])})` : "");
      if (v === undefined) {
        throw new k.KilnError(op, `${where()}: ${JSON.stringify(cell)} is not a number`);
      }
      if (dtype === "int32" && !(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) {
        throw new k.KilnError(op, `${where()}: ${JSON.stringify(cell)} is not an int32`);
      }
      out[r * cols + c] = v;
    });
  });
  return { columns, data: k.tensor(out, { shape: [rows.length, cols] }) };
}

/**
 * Reads a numeric CSV file (gunzipped first when gzip) with `data.parseCsv`; errors name the file.
 *
 * @example
 * ```ts
 * import * as k from "@kiln/kiln";
 * const { columns, data } = await k.data.loadCsv("iris.csv", { header: true });
 * ```
 */
export async function loadCsv(path: string, opts: CsvOptions = {}): Promise<CsvData> {
  checkString("data.loadCsv", path, "path");
  checkCsvOptions("data.loadCsv", opts);
  const bytes = await readMaybeGzip("data.loadCsv", path);
  return decodeCsv(new TextDecoder().decode(bytes), opts, `data.loadCsv: ${path}`);
}
