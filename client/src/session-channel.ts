/**
 * Tabs of one browser share the refresh cookie but each keeps its own access token in memory, so
 * they tell each other when the session starts or ends.
 */
export type Announcement = { type: 'signed-in'; userId: string } | { type: 'signed-out' };

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('latchkey') : null;

function isAnnouncement(value: unknown): value is Announcement {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  if (value.type === 'signed-out') return true;
  return value.type === 'signed-in' && 'userId' in value && typeof value.userId === 'string';
}

export function announce(announcement: Announcement): void {
  channel?.postMessage(announcement);
}

export function onAnnouncement(handler: (announcement: Announcement) => void): void {
  channel?.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (isAnnouncement(event.data)) handler(event.data);
  });
}
