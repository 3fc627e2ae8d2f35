/**
 * The explanation explorer's static files (`ui/` next to `src/` and `dist/`), read once at first use and served at
 * `/` and `/ui/*`. They hold no data: the page calls the same authenticated REST API as any client.
 */
import { readFileSync } from 'node:fs';

export interface UiAsset {
  readonly type: string;
  readonly body: Buffer;
}

const FILES: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/ui/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/ui/app.css': ['app.css', 'text/css; charset=utf-8'],
};

let cache: Map<string, UiAsset> | undefined;

/** The asset served at `path`, or undefined when the path is not one of the page's files. */
export function uiAsset(path: string): UiAsset | undefined {
  const entry = FILES[path];
  if (!entry) return undefined;
  cache ??= new Map();
  let asset = cache.get(entry[0]);
  if (!asset) {
    // src/ui/assets.ts and dist/ui/assets.js both sit two folders below the app's root, where ui/ is.
    asset = { type: entry[1], body: readFileSync(new URL(`../../ui/${entry[0]}`, import.meta.url)) };
    cache.set(entry[0], asset);
  }
  return asset;
}
