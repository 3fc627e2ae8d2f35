/** In-process I/O for runCli: what the CLI writes, captured; stderr may pose as a terminal (for the progress bars). */
import type { Io } from '../../src/index.js';

/** A captured output stream. */
export class Capture {
  text = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns: number,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** Captured stdout (never a terminal) and stderr (a terminal of `columns` columns when `stderrIsTTY`). */
export function captureIo(stderrIsTTY: boolean, columns: number): Io & { stdout: Capture; stderr: Capture } {
  return { stdout: new Capture(false, columns), stderr: new Capture(stderrIsTTY, columns) };
}
