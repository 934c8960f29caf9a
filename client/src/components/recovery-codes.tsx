import { useState } from 'react';

/** The recovery codes, shown once, with ways to keep them. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const text = `${codes.join('\n')}\n`;
  function copy() {
    navigator.clipboard.writeText(text).then(
      () => setCopied('Copied.'),
      () => setCopied('Could not copy; select the codes and copy them instead.'),
    );
  }
  function download() {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'latchkey-recovery-codes.txt';
    link.click();
    URL.revokeObjectURL(url);
  }
  return (
    <div className="recovery">
      <h3>Recovery codes</h3>
      <p>
        Keep these somewhere safe. Each one signs you in once if you lose your authenticator. They
        will not be shown again.
      </p>
      <ul className="codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="actions">
        <button type="button" onClick={copy}>
          Copy
        </button>
        <button type="button" onClick={download}>
          Download
        </button>
        <button type="button" className="primary" onClick={onDone}>
          Done
        </button>
      </div>
      <p role="status" className="success">
        {copied}
      </p>
    </div>
  );
}
