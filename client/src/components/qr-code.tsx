import { useEffect, useState } from 'react';

/**
 * The otpauth URL as a QR code, drawn here in the browser (the secret never goes to a third
 * party) as an SVG data URL: an image the page's policy allows (`img-src 'self' data:`), no inline
 * script. `qrcode` is loaded only when this is shown.
 */
export function QrCode({ text }: { text: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void import('qrcode')
      .then((qrcode) =>
        qrcode.toString(text, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' }),
      )
      .then((svg) => {
        if (live) setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
      });
    return () => {
      live = false;
    };
  }, [text]);
  if (src === null) return <p role="status">Drawing the QR code…</p>;
  return <img className="qr" src={src} alt="QR code" width={200} height={200} />;
}
