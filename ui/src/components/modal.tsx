import { useEffect, useRef, type ReactNode } from 'react';

const focusable = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A dialog: Escape or the backdrop closes it; focus moves into it on opening,
 * Tab stays inside it, and focus returns where it was on closing (keyboard users
 * are not dropped at the top of the page).
 */
export function Modal(props: { title: string; onClose: () => void; children: ReactNode }) {
  const dialog = useRef<HTMLDivElement>(null);
  // The latest onClose without re-running the effect (parents pass a new closure each render).
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const element = dialog.current;
    // The first field of its form (not the close button in the header), else the dialog itself.
    const first = element?.querySelector<HTMLElement>(focusable.split(', ').map((selector) => `form ${selector}`).join(', ')) ?? element;
    first?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        onClose.current();
      } else if (event.key === 'Tab' && element !== null) keepFocusInside(element, event);
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      if (opener?.isConnected === true) opener.focus();
    };
  }, []);
  return (
    <div className="modal-backdrop" role="presentation" onClick={props.onClose}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={props.title} tabIndex={-1} ref={dialog} onClick={(event) => event.stopPropagation()}>
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

function keepFocusInside(dialog: HTMLElement, event: KeyboardEvent): void {
  const items = [...dialog.querySelectorAll<HTMLElement>(focusable)];
  const first = items[0];
  const last = items.at(-1);
  if (first === undefined || last === undefined) return;
  if (event.shiftKey && (document.activeElement === first || document.activeElement === dialog)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

export function ErrorNote(props: { error: string | null }) {
  return props.error === null ? null : (
    <p className="error" role="alert">
      {props.error}
    </p>
  );
}
