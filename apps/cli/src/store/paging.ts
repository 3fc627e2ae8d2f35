/** The paging flags of `genome store list` and `search`, and following pages with --all. */
import type { Command } from 'commander';
import { intAtLeast } from '../options.js';

export interface PagingFlags {
  pageSize?: number;
  pageToken?: string;
  all?: boolean;
}

export function addPagingOptions(cmd: Command): Command {
  return cmd
    .option('--page-size <n>', 'results per page, 1 to 1000 (default 100)', intAtLeast(1))
    .option('--page-token <token>', 'continue after a previous page (the token it printed)')
    .option('--all', 'follow the pages to the end');
}

/** One page (or every page from the token on, with --all): the items and the token of the next page, if any. */
export async function pages<T>(
  flags: PagingFlags,
  fetch: (page: { pageSize?: number; pageToken?: string }) => Promise<{ items: T[]; nextPageToken?: string | undefined }>,
): Promise<{ items: T[]; nextPageToken?: string }> {
  const items: T[] = [];
  let token = flags.pageToken;
  for (;;) {
    const page = await fetch({
      ...(flags.pageSize !== undefined ? { pageSize: flags.pageSize } : {}),
      ...(token !== undefined && token !== '' ? { pageToken: token } : {}),
    });
    items.push(...page.items);
    token = page.nextPageToken;
    if (!token || !flags.all) break;
  }
  return token ? { items, nextPageToken: token } : { items };
}

/** The hint printed on stderr under a table when more pages follow. */
export const moreHint = (token: string): string => `more results: add --page-token ${token} (or --all)\n`;
