/**
 * Lets timers and I/O run: setImmediate where the host has it (Node), else a zero timeout. Long loops (training
 * steps, decoding steps) call it once per step: on the host backends every `await` of theirs resolves at once,
 * so without it a queue heartbeat, a metric flush or a cancel request would wait for the whole loop.
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(() => resolve()) : setTimeout(resolve, 0)));
}
