/** A source read failure that retrying will not fix (credentials, permissions, region), named by AWS's code. */
export class SourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly region: string,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}
