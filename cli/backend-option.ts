import { z } from "zod";
import { BACKEND_CHOICES, type BackendChoice, selectBackend } from "../gpu/select.ts";
import type { Backend } from "../gpu/backend.ts";

export const backendSchema = z.enum(BACKEND_CHOICES);

export const backendOption = {
  flags: "--backend <name>",
  description: "compute backend: auto picks a hardware GPU, else the fastest CPU path",
  default: "auto",
  choices: BACKEND_CHOICES,
};

/** Selects the backend and says which one was chosen and why. */
export async function chooseBackend(choice: BackendChoice): Promise<Backend> {
  const { backend, reason } = await selectBackend(choice);
  console.log(`backend: ${backend.description} (${reason})`);
  return backend;
}
