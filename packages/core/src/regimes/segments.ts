import type { Tokenizer } from '../tokenizer/types.ts';
import type { TrainExample } from '../train/example.ts';

/**
 * A training text as a regime writes it: pieces of text, each carrying loss or not, and end-of-sequence
 * tokens (a token id, never text, so no tokenizer can split or misread it).
 */
export type Segment = { text: string; loss: boolean } | { eos: true; loss: boolean };

export function text(t: string, loss = false): Segment {
  return { text: t, loss };
}

export const EOS: Segment = { eos: true, loss: true };

/**
 * Tokenize a training text into ids and a token-level loss mask, the way open-instruct's
 * `encode_with_messages_format` does: each stretch between EOS tokens is encoded whole, and a token
 * carries loss when it lies past the token count of the text before its segment and within that of the
 * text through its segment. Encoding whole stretches keeps the tokens the model sees at inference.
 */
export function tokenizeSegments(
  segments: readonly Segment[],
  tokenizer: Tokenizer,
  maxSeqLen?: number,
): TrainExample {
  const ids: number[] = [];
  const lossMask: number[] = [];
  let stretch: Array<{ text: string; loss: boolean }> = [];
  let first = true;

  const flush = (): void => {
    if (stretch.length === 0) return;
    const opts = first ? {} : { addBos: false };
    const whole = stretch.map((s) => s.text).join('');
    const wholeIds = tokenizer.encode(whole, opts);
    let prefix = '';
    let start = first ? tokenizer.encode('', opts).length : 0;
    for (const seg of stretch) {
      prefix += seg.text;
      const end = Math.min(tokenizer.encode(prefix, opts).length, wholeIds.length);
      for (let i = start; i < end; i++) lossMask[ids.length + i] = seg.loss ? 1 : 0;
      start = Math.max(start, end);
    }
    for (let i = 0; i < wholeIds.length; i++) lossMask[ids.length + i] ??= 0;
    // One by one: spreading a long row (~150k tokens) as arguments overflows the stack.
    for (const id of wholeIds) ids.push(id);
    stretch = [];
    first = false;
  };

  for (const seg of segments) {
    if ('eos' in seg) {
      flush();
      if (tokenizer.eosId === undefined)
        throw new Error(`tokenizer ${tokenizer.kind} has no end-of-sequence token`);
      ids.push(tokenizer.eosId);
      lossMask.push(seg.loss ? 1 : 0);
      first = false;
    } else if (seg.text !== '') {
      stretch.push(seg);
    }
  }
  flush();
  if (maxSeqLen !== undefined && ids.length > maxSeqLen) {
    return { ids: ids.slice(0, maxSeqLen), lossMask: lossMask.slice(0, maxSeqLen) };
  }
  return { ids, lossMask };
}

export const LOSS_OPEN = '⟦';
export const LOSS_CLOSE = '⟧';

/** The training text with the loss-carrying spans between ⟦ and ⟧, EOS written as `eosText`. */
export function renderSegments(segments: readonly Segment[], eosText = '</s>'): string {
  let out = '';
  let open = false;
  for (const seg of segments) {
    const piece = 'eos' in seg ? eosText : seg.text;
    if (piece === '') continue;
    if (seg.loss !== open) {
      out += seg.loss ? LOSS_OPEN : LOSS_CLOSE;
      open = seg.loss;
    }
    out += piece;
  }
  return open ? out + LOSS_CLOSE : out;
}

/** The same, token by token: each token's own text, loss-carrying runs between ⟦ and ⟧. */
export function renderTokens(example: TrainExample, tokenizer: Tokenizer): string {
  const texts = tokenizer.tokenTexts();
  let out = '';
  let open = false;
  example.ids.forEach((id, i) => {
    const loss = example.lossMask[i] === 1;
    if (loss !== open) {
      out += loss ? LOSS_OPEN : LOSS_CLOSE;
      open = loss;
    }
    out +=
      id === tokenizer.bosId || id === tokenizer.eosId ? tokenizer.idToPiece(id).trim() : (texts[id] ?? '');
  });
  return open ? out + LOSS_CLOSE : out;
}

/** The text a segment list spells, without markers (EOS left out): what the prompt of a training text is. */
export function plainText(segments: readonly Segment[]): string {
  return segments.map((s) => ('eos' in s ? '' : s.text)).join('');
}
