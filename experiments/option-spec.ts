/** A command-line option as data (flags, help, default), independent of the parser library. */
export interface OptionSpec {
  /** commander-style flags, e.g. "--image-size <n>" or "--GRL". */
  flags: string;
  description: string;
  default?: string | boolean | string[];
  choices?: readonly string[];
  hidden?: boolean;
}
