/**
 * lime's `IndexedString` / `IndexedCharacters` (marcotcr/lime `lime/lime_text.py`): splits a document into
 * tokens and separators, indexes the interpretable features (distinct words for bag-of-words, word
 * positions otherwise, or characters), and rebuilds perturbed strings with features removed or masked.
 */
import { LimeError } from './errors.js';

/**
 * Python's `\W+` (non-word characters, Unicode-aware): lime's default split expression. JavaScript's `\W` is
 * ASCII-only even with the `u` flag, so letters/digits are spelled with Unicode properties.
 */
export const DEFAULT_SPLIT_EXPRESSION = /[^\p{L}\p{N}_]+/u;

export type SplitExpression = RegExp | string | ((text: string) => readonly string[]);

export interface IndexedTextOptions {
  /** Regex (RegExp or source string) of separators, or a tokenizer returning the tokens in order. */
  readonly splitExpression?: SplitExpression;
  /** Bag of words (a feature = all occurrences of a word); false = a feature per position. Default true. */
  readonly bow?: boolean;
  /** Each character is a token (lime `char_level`). */
  readonly charLevel?: boolean;
  /** Replacement for removed tokens when bow = false (default 'UNKWORDZ', or '\u0000' at char level). */
  readonly maskString?: string;
}

export class IndexedText {
  readonly raw: string;
  /** Tokens and separators, in order; concatenated they give `raw`. */
  readonly pieces: string[];
  /** Start offset (in UTF-16 code units) of every piece. */
  readonly starts: Int32Array;
  /** Interpretable feature names (words or characters). */
  readonly vocabulary: string[];
  /** For each feature, the piece indices it covers. */
  readonly positions: Int32Array[];
  readonly bow: boolean;
  readonly maskString: string;

  constructor(raw: string, options: IndexedTextOptions = {}) {
    if (typeof raw !== 'string') throw new LimeError('INVALID_INPUT', `The text to explain must be a string, got ${typeof raw}.`);
    this.raw = raw;
    this.bow = options.bow ?? true;
    const charLevel = options.charLevel ?? false;
    this.maskString = options.maskString ?? (charLevel ? '\u0000' : 'UNKWORDZ');
    let isWord: (piece: string) => boolean;
    if (charLevel) {
      this.pieces = raw.split('');
      isWord = () => true;
    } else {
      const split = options.splitExpression ?? DEFAULT_SPLIT_EXPRESSION;
      if (typeof split === 'function') {
        const tokens = split(raw);
        if (!Array.isArray(tokens)) throw new LimeError('INVALID_INPUT', 'splitExpression function must return an array of tokens.');
        this.pieces = segmentWithTokens(raw, tokens);
        const set = new Set(tokens);
        isWord = (p) => set.has(p);
      } else {
        let re: RegExp;
        try {
          re = typeof split === 'string' ? new RegExp(split, 'u') : split;
        } catch (e) {
          throw new LimeError('INVALID_CONFIG', `splitExpression '${String(split)}' is not a valid regular expression: ${(e as Error).message}`);
        }
        if (!(re instanceof RegExp)) throw new LimeError('INVALID_CONFIG', 'splitExpression must be a RegExp, a regex source string or a tokenizer function.');
        const flags = re.flags.replace(/[gy]/g, '');
        const splitter = new RegExp(`(${re.source})`, flags);
        const nonWord = new RegExp(`^(?:(?:${re.source})|$)`, flags);
        this.pieces = raw.split(splitter).filter((s) => s !== undefined && s.length > 0);
        isWord = (p) => !nonWord.test(p);
      }
    }
    this.starts = new Int32Array(this.pieces.length);
    let acc = 0;
    for (let i = 0; i < this.pieces.length; i++) {
      this.starts[i] = acc;
      acc += this.pieces[i]!.length;
    }
    const vocab = new Map<string, number>();
    const pos: number[][] = [];
    this.vocabulary = [];
    const nonVocab = new Set<string>();
    for (let i = 0; i < this.pieces.length; i++) {
      const w = this.pieces[i]!;
      if (nonVocab.has(w)) continue;
      if (!isWord(w)) {
        nonVocab.add(w);
        continue;
      }
      if (this.bow) {
        let id = vocab.get(w);
        if (id === undefined) {
          id = vocab.size;
          vocab.set(w, id);
          this.vocabulary.push(w);
          pos.push([]);
        }
        pos[id]!.push(i);
      } else {
        this.vocabulary.push(w);
        pos.push([i]);
      }
    }
    this.positions = pos.map((p) => Int32Array.from(p));
  }

  get numFeatures(): number {
    return this.vocabulary.length;
  }

  /** Character offsets of every occurrence of feature `id`. */
  stringPositions(id: number): number[] {
    return Array.from(this.positions[id]!, (p) => this.starts[p]!);
  }

  /**
   * The document with the features whose `active[f] === 0` removed (bag of words) or replaced by the mask
   * string (positional). `removed` is a reusable scratch buffer of length `pieces.length`.
   */
  inverseRemoving(active: Uint8Array, removed: Uint8Array): string {
    removed.fill(0);
    for (let f = 0; f < this.positions.length; f++) {
      if (active[f]) continue;
      const ps = this.positions[f]!;
      for (let k = 0; k < ps.length; k++) removed[ps[k]!] = 1;
    }
    let out = '';
    for (let i = 0; i < this.pieces.length; i++) {
      if (!removed[i]) out += this.pieces[i]!;
      else if (!this.bow) out += this.maskString;
    }
    return out;
  }
}

/** lime `_segment_with_tokens`: the pieces of `text` around the tokens a custom tokenizer produced. */
function segmentWithTokens(text: string, tokens: readonly string[]): string[] {
  const out: string[] = [];
  let ptr = 0;
  for (const token of tokens) {
    if (typeof token !== 'string' || token.length === 0) throw new LimeError('INVALID_INPUT', 'The tokenizer returned an empty or non-string token.');
    const at = text.indexOf(token, ptr);
    if (at < 0) throw new LimeError('INVALID_INPUT', `Tokenization produced the token '${token}' that does not occur (in order) in the text.`);
    if (at > ptr) out.push(text.slice(ptr, at));
    out.push(token);
    ptr = at + token.length;
  }
  if (ptr < text.length) out.push(text.slice(ptr));
  return out;
}
