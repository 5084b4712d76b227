import type { WebSocket } from 'ws';

/**
 * Pings `socket` every `intervalMs` and terminates it when the previous ping got no pong: a
 * viewer whose network vanished (no close frame, no FIN) is noticed within two intervals instead
 * of holding its subscription forever. `onBeat` runs with every ping (e.g. an application-level
 * heartbeat message). Returns the function that stops the timer; it also stops on close.
 */
export function keepAlive(socket: WebSocket, intervalMs: number, onBeat?: () => void): () => void {
  let alive = true;
  socket.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
    onBeat?.();
  }, intervalMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  socket.on('close', stop);
  return stop;
}
