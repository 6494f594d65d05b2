/**
 * QR codes of client configs (what the WireGuard phone apps scan), with `qrcode`: for the
 * terminal (half blocks on a forced white background, so dark themes scan too), PNG and SVG.
 */
import QRCode from "qrcode";

/** Medium error correction: a ~300-byte config stays a size phones read off a screen. */
const errorCorrectionLevel = "M";

/** The QR code of `text` for a terminal, ANSI colours included, ending in a newline. */
export async function terminalQr(text: string): Promise<string> {
  const art = await QRCode.toString(text, { type: "terminal", small: true, errorCorrectionLevel });
  return art.endsWith("\n") ? art : `${art}\n`;
}

/** The QR code of `text` as a PNG image (6 pixels per module, the standard 4-module quiet zone). */
export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: "png", errorCorrectionLevel, scale: 6, margin: 4 });
}

/** The QR code of `text` as an SVG document. */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: "svg", errorCorrectionLevel, margin: 4 });
}
