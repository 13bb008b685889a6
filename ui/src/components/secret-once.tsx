import { useState, type ReactNode } from 'react';

/**
 * A secret the gateway shows this once (a new API key, a webhook's signing
 * secret): what it is, the value, Copy and Done. Render it with `key={secret}`
 * so a second secret starts as not yet copied.
 */
export function SecretOnce(props: { secret: string; testId: string; onDone: () => void; children: ReactNode }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="secret" role="status">
      <p>{props.children}</p>
      <code data-testid={props.testId}>{props.secret}</code>
      <button
        onClick={() => {
          void navigator.clipboard?.writeText(props.secret).then(() => setCopied(true), () => setCopied(false));
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
      <button className="link" onClick={props.onDone}>
        Done
      </button>
    </div>
  );
}
