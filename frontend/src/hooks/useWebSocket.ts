// Owns one WebSocket client for the lifetime of the component that uses it: creates and
// starts it on mount (and when `deps` change), stops it on unmount, and mirrors its
// connection state into React state for the status bar.

import { useEffect, useState, type DependencyList } from 'react';
import { INITIAL_CONNECTION_STATE, type ConnectionState } from '../services/websocket';

export interface ManagedSocketClient {
  readonly state: ConnectionState;
  start(): void;
  stop(): void;
  reconnectNow(): void;
  addListener(listener: { onState?(state: ConnectionState): void }): () => void;
}

export interface WebSocketHandle<C> {
  /** Null until the effect has run (first render) and after unmount. */
  readonly client: C | null;
  readonly state: ConnectionState;
}

export function useWebSocket<C extends ManagedSocketClient>(
  create: () => C | null,
  deps: DependencyList,
): WebSocketHandle<C> {
  const [client, setClient] = useState<C | null>(null);
  const [state, setState] = useState<ConnectionState>(INITIAL_CONNECTION_STATE);

  useEffect(() => {
    const created = create();
    if (created === null) return undefined;
    const removeListener = created.addListener({ onState: (next) => setState(next) });
    setClient(created);
    created.start();
    return () => {
      removeListener();
      created.stop();
      setClient(null);
      setState(INITIAL_CONNECTION_STATE);
    };
    // `create` is a new closure every render; `deps` say when a new client is needed.
  }, deps);

  return { client, state };
}
