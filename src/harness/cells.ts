/** What a screen is made of: cells, their colours, and the cursor. @module */

/** A colour: a palette index (0-255), `#rrggbb`, or null for the terminal's default. */
export type Color = number | string | null;

/** One cell of the screen. */
export interface Cell {
  /** The character shown ('' for the second half of a wide one, ' ' for a blank). */
  char: string;
  fg: Color;
  bg: Color;
  bold: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}

/** Where the cursor is, 0-based, and whether the program shows it (DECTCEM). */
export interface Cursor {
  row: number;
  col: number;
  visible: boolean;
}
