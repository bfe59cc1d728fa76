/**
 * What commands print through, so tests can capture it. A leaf: `program.ts` builds the commands
 * and hands them a context; the commands and the session import only this type, never the program.
 */
export interface CommandContext {
  /** One line to stdout (the results). */
  out(line: string): void;
  /** One line to stderr (errors, warnings). */
  err(line: string): void;
  /** Columns for tables: the terminal's width, or 100 when not a terminal. */
  width(): number;
}
