/** Where a command writes: stdout for results, stderr for errors and progress. Injected so tests can capture it. */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
}

export const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr });
