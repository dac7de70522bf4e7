import { EventEmitter, on } from 'node:events';
import { listenRunEvents, type RunEvent, type RunEventListener } from '@regimen/db/events';
import { env } from '../env.ts';

/**
 * What a run page hears: the worker's events for that run, plus `sync` whenever events may have been missed
 * (when the subscription starts, and when the LISTEN connection comes back after PostgreSQL went away),
 * telling the page to re-read everything.
 */
export type LiveRunEvent = RunEvent | { type: 'sync'; runId: string };

interface Hub {
  emitter: EventEmitter;
  subscribers: number;
  listener: Promise<RunEventListener> | undefined;
}

// Kept on globalThis so Next's dev-mode module reloads keep one LISTEN connection per process.
const cache = globalThis as typeof globalThis & { __regimenRunEventsHub?: Hub };

function hub(): Hub {
  cache.__regimenRunEventsHub ??= {
    emitter: new EventEmitter().setMaxListeners(0),
    subscribers: 0,
    listener: undefined,
  };
  return cache.__regimenRunEventsHub;
}

/**
 * The emitter's event name for a run. Prefixed: `events.on` adds an 'error' listener beside each run's, and a
 * re-sync that emitted to every event name once reached 'error' too, ending every live page for good.
 */
const channel = (runId: string) => `run:${runId}`;

function startListener(h: Hub): Promise<RunEventListener> {
  let connectedOnce = false;
  const started = listenRunEvents(
    env().DATABASE_URL,
    (event) => h.emitter.emit(channel(event.runId), event),
    {
      onConnectionChange: (connected, error) => {
        if (!connected) {
          console.error('run events: LISTEN connection lost, retrying:', error?.message ?? 'closed');
          return;
        }
        // The first connect is covered by each subscriber's own opening `sync`.
        if (connectedOnce) {
          for (const name of h.emitter.eventNames()) {
            if (typeof name !== 'string' || !name.startsWith('run:')) continue;
            h.emitter.emit(name, { type: 'sync', runId: name.slice('run:'.length) });
          }
        }
        connectedOnce = true;
      },
    },
  );
  started.catch(() => {
    if (h.listener === started) h.listener = undefined;
  });
  return started;
}

async function release(h: Hub): Promise<void> {
  h.subscribers -= 1;
  if (h.subscribers > 0 || !h.listener) return;
  // Nobody follows a run any more: give the connection back rather than hold it for an idle dashboard.
  const listener = h.listener;
  h.listener = undefined;
  await (await listener.catch(() => undefined))?.close();
}

/**
 * The events of one run until `signal` aborts. All subscriptions in this process share one LISTEN
 * connection, opened by the first and closed when the last one ends.
 */
export async function* followRun(runId: string, signal: AbortSignal): AsyncGenerator<LiveRunEvent> {
  const h = hub();
  h.subscribers += 1;
  try {
    h.listener ??= startListener(h);
    await h.listener;
    if (signal.aborted) return;
    // `on` registers its handler now, so nothing sent between here and the first `next()` is lost.
    const events = on(h.emitter, channel(runId), { signal });
    yield { type: 'sync', runId };
    for await (const [event] of events) yield event as LiveRunEvent;
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    await release(h);
  }
}
