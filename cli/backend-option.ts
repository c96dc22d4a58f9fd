/** Backend selection as the commands report it. */

import { type BackendChoice, selectBackend } from "../gpu/select.ts";
import type { Backend } from "../gpu/backend.ts";

/** Selects the backend and says which one was chosen and why. */
export async function chooseBackend(choice: BackendChoice): Promise<Backend> {
  const { backend, reason } = await selectBackend(choice);
  console.log(`backend: ${backend.description} (${reason})`);
  return backend;
}
