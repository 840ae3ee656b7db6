// One WebSocket's state: live, connecting, or reconnecting with a countdown and a button
// to retry at once.

import { useEffect, useState } from 'react';
import type { ConnectionState } from '../services/websocket';

interface ConnectionStatusProps {
  /** "Market data" or "Orders". */
  label: string;
  /** Suffix of the test id: connection-<id>. */
  id: string;
  state: ConnectionState;
  onReconnectNow: () => void;
}

function describe(state: ConnectionState, now: number): string {
  switch (state.phase) {
    case 'open':
      return 'live';
    case 'connecting':
      return state.everOpened || state.attempt > 0 ? 'reconnecting…' : 'connecting…';
    case 'waiting': {
      const seconds = state.retryAt === null ? 0 : Math.max(0, Math.ceil((state.retryAt - now) / 1000));
      return `offline, retry in ${seconds} s`;
    }
    case 'idle':
    case 'closed':
      return 'off';
  }
}

export function ConnectionStatus({ label, id, state, onReconnectNow }: ConnectionStatusProps) {
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (state.phase !== 'waiting') return undefined;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [state.phase]);

  const text = describe(state, now);
  return (
    <div className={`connection connection--${state.phase}`} data-testid={`connection-${id}`} data-phase={state.phase}>
      <span className="connection__dot" aria-hidden="true" />
      <span role="status" aria-live="polite" aria-label={`${label} connection: ${text}`}>
        {label}: {text}
      </span>
      {state.phase === 'waiting' && (
        <button
          type="button"
          className="button button--link"
          onClick={onReconnectNow}
          aria-label={`Reconnect ${label} now`}
        >
          Retry
        </button>
      )}
    </div>
  );
}
