import type { StatusUpdate } from '../proxmox/vm-status.js';

/**
 * Messages of /ws/vm-status: the status poller's updates as they are (src/proxmox/vm-status.ts:
 * `full`, `diff`, `stale`), and `{error}` before closing when there is nothing to follow.
 */
export type ServerMessage = StatusUpdate | { error: string };

const texts = new WeakMap<StatusUpdate, string>();

/** An update as sent: serialised once per broadcast (the poller hands every viewer the same object), not once per viewer. */
export function messageText(update: StatusUpdate): string {
  let text = texts.get(update);
  if (text === undefined) {
    text = JSON.stringify(update satisfies ServerMessage);
    texts.set(update, text);
  }
  return text;
}
