// Keeps one panel's crash (a rendering bug, the chart library throwing) from blanking the
// whole trading screen: the panel shows what failed and a retry button; the rest stays live.

import { Component, type ErrorInfo, type ReactNode } from 'react';

interface PanelBoundaryProps {
  name: string;
  children: ReactNode;
}

interface PanelBoundaryState {
  error: Error | null;
}

export class PanelBoundary extends Component<PanelBoundaryProps, PanelBoundaryState> {
  override state: PanelBoundaryState = { error: null };

  static getDerivedStateFromError(error: Error): PanelBoundaryState {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`${this.props.name} panel failed`, error, info.componentStack);
  }

  override render(): ReactNode {
    if (this.state.error === null) return this.props.children;
    return (
      <section className="panel" role="alert" data-testid="panel-error">
        <h2>{this.props.name}</h2>
        <p className="form-error">This panel stopped: {this.state.error.message}</p>
        <button type="button" className="button button--small" onClick={() => this.setState({ error: null })}>
          Retry
        </button>
      </section>
    );
  }
}
