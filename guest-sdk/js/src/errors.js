// The errors of parproc's API.

/** API misuse or a configuration error (a bad declaration, an unknown name). */
export class UserError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UserError';
  }
}

/** A waited-for proc failed (`Process error [3]` from `ctx.wait`). */
export class ProcessError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProcessError';
  }
}

/** Throw it in a proc to fail it with a message (no stack is logged). */
export class ProcFailedError extends Error {
  constructor(message = '') {
    super(message);
    this.name = 'ProcFailedError';
  }
}

/** Throw it in a proc to skip it; a skipped proc counts as a success downstream. */
export class ProcSkippedError extends Error {
  constructor(message = '') {
    super(message);
    this.name = 'ProcSkippedError';
  }
}

/** Throw it in a proc when nothing changed; counts as a success downstream. */
export class ProcNoChangeError extends Error {
  constructor(message = '') {
    super(message);
    this.name = 'ProcNoChangeError';
  }
}
