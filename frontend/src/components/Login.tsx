// Sign-in with an API key. With a server started in demo mode, the demo accounts of
// `GET /api/demo/accounts` are listed to pick from. The key is checked against
// `GET /api/account` before the dashboard opens.

import { useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiError, describeError } from '../services/api';
import type { Account, DemoAccount } from '../services/types';

interface LoginProps {
  onLogin: (apiKey: string, account: Account) => void;
  /** Why the previous session ended (e.g. the key stopped working). */
  notice: string | null;
}

export function Login({ onLogin, notice }: LoginProps) {
  const [apiKey, setApiKey] = useState('');
  const [demo, setDemo] = useState<DemoAccount[] | null | 'loading'>('loading');
  const [error, setError] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let current = true;
    new ApiClient().demoAccounts().then(
      (accounts) => current && setDemo(accounts),
      () => current && setDemo(null),
    );
    return () => {
      current = false;
    };
  }, []);

  const signIn = async (key: string) => {
    const trimmed = key.trim();
    if (trimmed === '') {
      setError('Enter an API key');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const account = await new ApiClient({ apiKey: () => trimmed }).account();
      onLogin(trimmed, account);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'This API key was not accepted.' : describeError(e));
      setBusy(false);
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void signIn(apiKey);
  };

  return (
    <main className="login">
      <section className="login__card" aria-labelledby="login-title">
        <h1 id="login-title">OMS trading dashboard</h1>
        <form onSubmit={onSubmit} aria-label="Sign in with an API key" className="login__form">
          <label htmlFor="api-key">API key</label>
          <input
            id="api-key"
            name="apiKey"
            type="password"
            autoComplete="off"
            spellCheck={false}
            aria-label="API key"
            value={apiKey}
            onChange={(event) => setApiKey(event.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error !== null ? 'login-error' : undefined}
            autoFocus
          />
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          {error !== null && (
            <p id="login-error" role="alert" className="form-error" data-testid="login-error">
              {error}
            </p>
          )}
        </form>
        {demo === 'loading' && <p className="muted">Looking for demo accounts…</p>}
        {Array.isArray(demo) && demo.length > 0 && (
          <div className="login__demo">
            <h2 id="demo-title">Demo accounts</h2>
            <p className="muted">This server runs in demo mode. Pick an account:</p>
            <ul aria-labelledby="demo-title" data-testid="demo-accounts">
              {demo.map((account) => (
                <li key={account.accountId}>
                  <button
                    type="button"
                    className="button"
                    data-testid="demo-account"
                    data-account-id={account.accountId}
                    aria-label={`Use demo account ${account.accountId}${account.admin ? ' (admin)' : ''}`}
                    disabled={busy}
                    onClick={() => void signIn(account.apiKey)}
                  >
                    Account {account.accountId}
                    {account.admin && <span className="badge">admin</span>}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
        <p className="muted small">The key is kept in this browser tab only (session storage).</p>
      </section>
    </main>
  );
}
