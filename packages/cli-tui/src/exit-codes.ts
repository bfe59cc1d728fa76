/** Process exit codes, the same for every subcommand. */
export const ExitCode = {
  success: 0,
  runtimeFailure: 1,
  usageError: 2,
} as const;
