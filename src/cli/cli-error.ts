/** A failure the CLI explains in one line (exit 2): a refused request, a server that is not there. */
export class CliError extends Error {
  override name = 'CliError';
}

/** A command line the CLI cannot read; the hint names the --help that would have helped. */
export class UsageError extends CliError {
  override name = 'UsageError';
  readonly helpCommand: string;

  constructor(message: string, helpCommand: string) {
    super(message);
    this.helpCommand = helpCommand;
  }
}
