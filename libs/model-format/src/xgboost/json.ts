/**
 * JSON.parse for XGBoost model files, which may contain the non-standard literals NaN, Infinity and -Infinity
 * (written by some XGBoost versions for categorical split conditions). NaN becomes null (read back as NaN).
 */
import { ModelFormatError } from '../errors.js';

export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // fall through to the literal rewrite
  }
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (c === 0x4e && text.startsWith('NaN', i)) {
      out += text.slice(last, i) + 'null';
      i += 2;
      last = i + 1;
    } else if (c === 0x49 && text.startsWith('Infinity', i)) {
      out += text.slice(last, i) + '1e999';
      i += 7;
      last = i + 1;
    }
  }
  out += text.slice(last);
  try {
    return JSON.parse(out);
  } catch (e) {
    throw new ModelFormatError('INVALID_MODEL', `Invalid JSON model: ${(e as Error).message}`, { cause: e });
  }
}
