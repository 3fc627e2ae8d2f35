/** Plain aligned columns (cli-table3 without borders or colours), for terminals and for grep alike. */
import Table from 'cli-table3';

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

export interface TextTableOptions {
  head: string[];
  /** Alignment per column; default left. */
  align?: ('left' | 'right')[];
  /** Spaces before every line. */
  indent?: number;
}

export function textTable(rows: string[][], o: TextTableOptions): string {
  const t = new Table({
    head: o.head,
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    ...(o.align ? { colAligns: o.align } : {}),
  });
  t.push(...rows);
  const pad = ' '.repeat(o.indent ?? 0);
  return t
    .toString()
    .split('\n')
    .map((l) => pad + l.trimEnd())
    .join('\n');
}
