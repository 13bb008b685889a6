import type { ReactNode } from 'react';

export function Modal(props: { title: string; onClose: () => void; children: ReactNode }) {
  return (
    <div className="modal-backdrop" role="presentation" onClick={props.onClose}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={props.title} onClick={(event) => event.stopPropagation()}>
        <header>
          <h2>{props.title}</h2>
          <button className="link" onClick={props.onClose} aria-label="Close">
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

export function ErrorNote(props: { error: string | null }) {
  return props.error === null ? null : (
    <p className="error" role="alert">
      {props.error}
    </p>
  );
}
