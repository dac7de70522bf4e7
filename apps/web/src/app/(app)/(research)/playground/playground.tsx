'use client';

import { useState } from 'react';
import type { PlaygroundLine } from '@/server/playground';

interface Targets {
  models: { id: string; name: string }[];
  checkpoints: { id: string; step: number; isFinal: boolean; run: { id: string; name: string } }[];
}
/** One line of the playground's NDJSON stream (see server/playground.ts). */
type SideResult = PlaygroundLine;

function merge(results: SideResult[], line: SideResult): SideResult[] {
  const rest = results.filter((r) => r.side !== line.side);
  if (line.delta === undefined) return [...rest, line];
  const sofar = results.find((r) => r.side === line.side);
  return [...rest, { side: line.side, label: line.label, text: (sofar?.text ?? '') + line.delta }];
}

export function Playground({ targets }: { targets: Targets }) {
  const [target, setTarget] = useState(targets.models[0] ? `model:${targets.models[0].id}` : '');
  const [prompt, setPrompt] = useState('Tell me a story about a cat.');
  const [chatTemplate, setChatTemplate] = useState(true);
  const [adapter, setAdapter] = useState(false);
  const [maxNewTokens, setMaxNewTokens] = useState(64);
  const [results, setResults] = useState<SideResult[]>([]);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    setPending(true);
    setError(null);
    setResults([]);
    const [kind, id] = target.split(':') as [string, string];
    try {
      const res = await fetch('/api/playground', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          target: kind === 'model' ? { modelId: id } : { checkpointId: id },
          prompt,
          chatTemplate,
          adapter,
          maxNewTokens,
        }),
      });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new Error(body.error ?? `request failed (${res.status})`);
      }
      // Text pieces of a side as they are decoded, then its final line, which replaces them.
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) setResults((r) => merge(r, JSON.parse(line) as SideResult));
          nl = buffer.indexOf('\n');
        }
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setPending(false);
    }
  }

  if (targets.models.length === 0) {
    return (
      <div className="empty">
        <strong>No models to prompt</strong>Register a model on the Models page first.
      </div>
    );
  }
  return (
    <div className="grid-2" style={{ gridTemplateColumns: '1fr 2fr', alignItems: 'start' }}>
      <form
        className="panel"
        aria-label="Playground prompt"
        style={{ display: 'grid', gap: 10 }}
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label htmlFor="pg-target">
          Model or checkpoint
          <select id="pg-target" value={target} onChange={(e) => setTarget(e.target.value)}>
            <optgroup label="Models">
              {targets.models.map((m) => (
                <option key={m.id} value={`model:${m.id}`}>
                  {m.name}
                </option>
              ))}
            </optgroup>
            {targets.checkpoints.length > 0 ? (
              <optgroup label="Run checkpoints">
                {targets.checkpoints.map((c) => (
                  <option key={c.id} value={`checkpoint:${c.id}`}>
                    {c.run.name} @ {c.step}
                    {c.isFinal ? ' (final)' : ''}
                  </option>
                ))}
              </optgroup>
            ) : null}
          </select>
        </label>
        <label htmlFor="pg-prompt">
          Prompt
          <textarea id="pg-prompt" rows={6} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={chatTemplate} onChange={(e) => setChatTemplate(e.target.checked)} />
          Wrap in the Tulu chat template
        </label>
        <label className="check">
          <input type="checkbox" checked={adapter} onChange={(e) => setAdapter(e.target.checked)} />
          Add the rule-based adapter (product of experts)
        </label>
        <label htmlFor="pg-max">
          Max new tokens
          <input
            id="pg-max"
            type="number"
            min={1}
            max={512}
            value={maxNewTokens}
            onChange={(e) => setMaxNewTokens(Number(e.target.value))}
          />
        </label>
        <button type="submit" className="primary" disabled={pending || !prompt.trim()}>
          {pending ? 'Generating…' : 'Generate'}
        </button>
        {error ? (
          <div className="error-box" role="alert">
            {error}
          </div>
        ) : null}
      </form>
      <div className="grid-2">
        {(['target', 'base'] as const).map((side) => {
          const r = results.find((x) => x.side === side);
          return (
            <section key={side} className="panel" data-testid={`playground-${side}`}>
              <h2 style={{ marginTop: 0 }}>{r?.label ?? (side === 'target' ? 'Selected' : 'Base model')}</h2>
              {r?.error ? (
                <div className="error-box">{r.error}</div>
              ) : r?.finishReason ? (
                <>
                  <pre>{r.text || '(empty)'}</pre>
                  <p className="muted mono">
                    {r.tokens} tokens · {r.finishReason} · {r.seconds?.toFixed(2)} s · {r.backend}
                  </p>
                </>
              ) : r ? (
                <>
                  <pre aria-busy="true">{r.text}</pre>
                  <p className="muted">Decoding…</p>
                </>
              ) : (
                <p className="muted">{pending ? 'Decoding…' : 'Press Generate.'}</p>
              )}
            </section>
          );
        })}
      </div>
    </div>
  );
}
