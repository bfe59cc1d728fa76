/** Process exit codes, the same for every subcommand. */
export const ExitCode = {
  success: 0,
  runtimeFailure: 1,
  usageError: 2,
  /** Stopped by SIGINT (Ctrl+C): 128 + 2, as shells report it. */
  interrupted: 130,
  /** Stopped by SIGTERM: 128 + 15. */
  terminated: 143,
} as const;
