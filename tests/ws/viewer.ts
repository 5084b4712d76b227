import WebSocket from 'ws';

export type Msg = Record<string, any>;

export interface Viewer {
  ws: WebSocket;
  /** Every message received, in order. */
  messages: Msg[];
  /** The first message from index `from` on that matches: one already received, or the next to come. */
  next(test: (m: Msg) => boolean, from?: number, timeoutMs?: number): Promise<Msg>;
}

/** A /ws/vm-status viewer (or any JSON WebSocket) that records what it receives; pushed to `open` for the caller to close. */
export function recordingViewer(url: string, open: WebSocket[]): Viewer {
  const ws = new WebSocket(url);
  open.push(ws);
  const messages: Msg[] = [];
  const waiters: { test: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as Msg;
    messages.push(m);
    for (const w of [...waiters]) if (w.test(m)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const next: Viewer['next'] = (test, from = 0, timeoutMs = 5000) => {
    const seen = messages.slice(from).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message; got ${JSON.stringify(messages).slice(-600)}`)), timeoutMs);
      waiters.push({ test, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  };
  return { ws, messages, next };
}
