/**
 * Lifetime of intermediates. GPU memory is not reclaimed by the garbage collector in time, so
 * every tensor made inside `tidy` is disposed when it returns, except what it returns and what
 * was `keep`-ed (parameters, accumulated gradients, optimiser state).
 */

/** What a scope needs of a tensor; kept minimal so this module imports nothing. */
export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const stack: Set<Disposable>[] = [];

export function track<T extends Disposable>(t: T): T {
  stack[stack.length - 1]?.add(t);
  return t;
}

/** Takes a tensor out of every scope: its owner disposes it. */
export function keep<T extends Disposable>(t: T): T {
  for (const scope of stack) scope.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Disposable>): void {
  if (value === null || typeof value !== "object") return;
  if ("dispose" in value && "disposed" in value) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) { for (const v of value) collect(v, out); }
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out);
  }
}

/** Runs `fn`, disposing every tensor it created that is not part of its result (all, if it throws). */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    // nothing is returned: free what was made, so a failed step (out of memory, say) leaks nothing
    for (const t of scope) if (!t.disposed) t.dispose();
    throw err;
  } finally {
    stack.pop();
  }
  if (result instanceof Promise) {
    throw new Error("tidy() takes a synchronous function: dispatch is synchronous, await outside");
  }
  const returned = new Set<Disposable>();
  collect(result, returned);
  for (const t of scope) {
    if (returned.has(t)) stack[stack.length - 1]?.add(t);
    else if (!t.disposed) t.dispose();
  }
  return result;
}
