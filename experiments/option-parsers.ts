/**
 * zod parsers for command-line values: commander hands strings (or string arrays for repeated
 * options), these turn them into numbers and lists with messages that name the option.
 */

import { z } from "zod";

/** A finite number given as a string or number. */
export const number = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const x = typeof v === "number" ? v : Number(v.trim());
    if (typeof v === "string" && v.trim() === "" || !Number.isFinite(x)) {
      ctx.addIssue({ code: "custom", message: `${what} must be a number` });
      return z.NEVER;
    }
    return x;
  });

/** A number >= 0. */
export const nonNegative = (what: string) =>
  number(what).pipe(z.number().min(0, `${what} must be >= 0`));
/** An integer >= min. */
export const count = (what: string, min: number) =>
  number(what).pipe(
    z.number().int(`${what} must be an integer`).min(min, `${what} must be >= ${min}`),
  );

/** A comma-separated (or repeated) option, each item validated by `item`. */
export const list = <T extends z.ZodType>(item: T) =>
  z.union([z.string(), z.array(z.string())]).transform((v, ctx) => {
    const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(","))
      .map((s) => s.trim()).filter(Boolean);
    if (parts.length === 0) {
      ctx.addIssue({ code: "custom", message: "give at least one value" });
      return z.NEVER;
    }
    const out: z.output<T>[] = [];
    for (const part of parts) {
      const r = item.safeParse(part);
      if (!r.success) {
        ctx.addIssue({ code: "custom", message: `"${part}": ${r.error.issues[0].message}` });
        return z.NEVER;
      }
      out.push(r.data);
    }
    return out;
  });
