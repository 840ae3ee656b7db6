// Top bar: who is signed in, the instrument picker and ticker, both connections, sign out.

import type { ReactNode } from 'react';
import type { Account } from '../services/types';

interface AccountBarProps {
  account: Account | null;
  onSignOut: () => void;
  /** Instrument picker and ticker. */
  children: ReactNode;
  /** Connection indicators. */
  status: ReactNode;
}

export function AccountBar({ account, onSignOut, children, status }: AccountBarProps) {
  return (
    <header className="topbar">
      <div className="topbar__brand" aria-label="Crypto OMS">
        OMS
      </div>
      <div className="topbar__instrument">{children}</div>
      <div className="topbar__status">{status}</div>
      <div className="topbar__account">
        <span data-testid="account-id" data-account-id={account?.accountId ?? ''}>
          Account {account?.accountId ?? '…'}
        </span>
        {account?.admin === true && <span className="badge">admin</span>}
        <button type="button" className="button button--small" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
