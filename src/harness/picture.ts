/**
 * Pictures of a screen: SVG (an image any browser, viewer or CI page shows)
 * and HTML, drawn from the cells on a monospace grid: characters, colours
 * (the 256-colour palette as xterm's defaults, and true colour), bold,
 * italic, underline, inverse, and the cursor.
 * @internal
 * @module
 */
import type { Cell, Color, Cursor } from './cells';

/** A cell's size in pixels, and the font drawn in it. */
const CELL_W = 9;
const CELL_H = 18;
const FONT = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace";
const FONT_PX = 15;
const BASELINE = 14;

/** The colours of the default text and background (a dark terminal, as xterm.js's). */
export const DEFAULT_FG = '#e5e5e5';
export const DEFAULT_BG = '#000000';

/** xterm's first 16 colours. */
const BASE16 = [
  '#000000', '#cd0000', '#00cd00', '#cdcd00', '#0000ee', '#cd00cd', '#00cdcd', '#e5e5e5',
  '#7f7f7f', '#ff0000', '#00ff00', '#ffff00', '#5c5cff', '#ff00ff', '#00ffff', '#ffffff',
]; // prettier-ignore

const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** Palette colour `i` (0-255): the 16 above, the 6×6×6 cube, then 24 greys (xterm's 256colres.pl). */
export function paletteColor(i: number): string {
  if (i < 16) return BASE16[i];
  if (i < 232) {
    const level = (v: number): number => (v === 0 ? 0 : 55 + 40 * v);
    const n = i - 16;
    return `#${hex(level(Math.floor(n / 36)))}${hex(level(Math.floor(n / 6) % 6))}${hex(level(n % 6))}`;
  }
  const grey = 8 + 10 * (i - 232);
  return `#${hex(grey)}${hex(grey)}${hex(grey)}`;
}

function colorOf(c: Color, fallback: string): string {
  if (c === null) return fallback;
  return typeof c === 'number' ? paletteColor(c) : c;
}

/** Cells of one row in one style, side by side. */
interface Run {
  col: number;
  /** Cells it covers (a wide character covers two). */
  width: number;
  text: string;
  fg: string;
  bg: string;
  bold: boolean;
  italic: boolean;
  underline: boolean;
}

/** A row as runs of cells in the same style; a wide character is a run of its own, two cells wide. */
function runsOf(row: readonly Cell[]): Run[] {
  const runs: Run[] = [];
  row.forEach((cell, col) => {
    const last = runs[runs.length - 1];
    // The second half of a wide character: its own run covers it.
    if (cell.char === '' && last !== undefined) {
      last.width++;
      return;
    }
    let fg = colorOf(cell.fg, DEFAULT_FG);
    let bg = colorOf(cell.bg, DEFAULT_BG);
    if (cell.inverse) [fg, bg] = [bg, fg];
    const wide = row[col + 1]?.char === '';
    const same =
      last !== undefined && !wide && last.width === last.text.length && last.fg === fg && last.bg === bg && last.bold === cell.bold;
    if (same && last.italic === cell.italic && last.underline === cell.underline) {
      last.text += cell.char || ' ';
      last.width++;
    } else {
      runs.push({ col, width: 1, text: cell.char || ' ', fg, bg, bold: cell.bold, italic: cell.italic, underline: cell.underline });
    }
  });
  return runs;
}

const escapeXml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The screen as an SVG image: `rows` × `cols` cells of CELL_W × CELL_H pixels. */
export function renderSVG(cells: readonly (readonly Cell[])[], cursor: Cursor): string {
  const cols = cells[0]?.length ?? 0;
  const width = cols * CELL_W;
  const height = cells.length * CELL_H;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="${DEFAULT_BG}"/>`,
    `<g font-family="${escapeXml(FONT)}" font-size="${FONT_PX}" xml:space="preserve">`,
  ];
  cells.forEach((row, y) => {
    for (const run of runsOf(row)) {
      const x = run.col * CELL_W;
      const w = run.width * CELL_W;
      if (run.bg !== DEFAULT_BG) out.push(`<rect x="${x}" y="${y * CELL_H}" width="${w}" height="${CELL_H}" fill="${run.bg}"/>`);
      // Trailing blanks are background only (unless underlined): the text stops at the last character.
      const text = run.underline ? run.text : run.text.trimEnd();
      if (text === '') continue;
      const textWidth = run.width === run.text.length ? text.length * CELL_W : w;
      const style = [
        run.bold ? ' font-weight="bold"' : '',
        run.italic ? ' font-style="italic"' : '',
        run.underline ? ' text-decoration="underline"' : '',
      ].join('');
      // textLength keeps each run on the grid whatever the font's advance.
      out.push(
        `<text x="${x}" y="${y * CELL_H + BASELINE}" fill="${run.fg}"${style} textLength="${textWidth}" lengthAdjust="spacingAndGlyphs">${escapeXml(text)}</text>`,
      );
    }
  });
  out.push('</g>');
  if (cursor.visible && cursor.row < cells.length && cursor.col < cols) {
    const x = cursor.col * CELL_W + 0.5;
    const y = cursor.row * CELL_H + 0.5;
    out.push(`<rect x="${x}" y="${y}" width="${CELL_W - 1}" height="${CELL_H - 1}" fill="none" stroke="${DEFAULT_FG}"/>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The screen as a standalone HTML page: a `<pre>` of styled runs. */
export function renderHTML(cells: readonly (readonly Cell[])[], cursor: Cursor): string {
  const rows = cells.map((row, y) =>
    runsOf(row)
      .map((run) => {
        const style = [
          run.fg !== DEFAULT_FG ? `color:${run.fg}` : '',
          run.bg !== DEFAULT_BG ? `background:${run.bg}` : '',
          run.bold ? 'font-weight:bold' : '',
          run.italic ? 'font-style:italic' : '',
          run.underline ? 'text-decoration:underline' : '',
        ]
          .filter(Boolean)
          .join(';');
        let text = escapeXml(run.text);
        if (cursor.visible && cursor.row === y && cursor.col >= run.col && cursor.col < run.col + run.text.length) {
          const i = cursor.col - run.col;
          const chars = [...run.text];
          text = `${escapeXml(chars.slice(0, i).join(''))}<span class="cursor">${escapeXml(chars[i] ?? ' ')}</span>${escapeXml(chars.slice(i + 1).join(''))}`;
        }
        return style === '' ? text : `<span style="${style}">${text}</span>`;
      })
      .join(''),
  );
  return [
    '<!doctype html>',
    '<meta charset="utf-8">',
    `<style>pre{display:inline-block;margin:0;padding:0;background:${DEFAULT_BG};color:${DEFAULT_FG};font:${FONT_PX}px/${CELL_H}px ${FONT}}.cursor{outline:1px solid ${DEFAULT_FG}}</style>`,
    `<pre>${rows.join('\n')}</pre>`,
    '',
  ].join('\n');
}
