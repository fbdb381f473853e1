/**
 * Keys as a terminal sends them: the bytes xterm (and xterm.js, whose
 * tables these follow: src/common/input/Keyboard.ts) writes for a key press,
 * given the modes the program has set. See XTerm Control Sequences, "PC-Style
 * Function Keys" and "VT220-Style Function Keys".
 * @internal
 */
import { invalidArgValue } from '../validators';

/** The terminal modes that change what a key sends. */
export interface KeyModes {
  /** DECCKM (`CSI ? 1 h`): arrows and Home/End send SS3 sequences. */
  applicationCursorKeys: boolean;
  /** DECKPAM (`ESC =`): the keypad sends SS3 sequences. */
  applicationKeypad: boolean;
}

// Final bytes of the cursor keys, sent as CSI x (normal) or SS3 x (DECCKM).
const CURSOR: Record<string, string> = { Up: 'A', Down: 'B', Right: 'C', Left: 'D', Home: 'H', End: 'F' };
// CSI n ~ keys.
const TILDE: Record<string, number> = {
  Insert: 2,
  Delete: 3,
  PageUp: 5,
  PageDown: 6,
  F5: 15,
  F6: 17,
  F7: 18,
  F8: 19,
  F9: 20,
  F10: 21,
  F11: 23,
  F12: 24,
};
// F1-F4: SS3 P..S.
const PF: Record<string, string> = { F1: 'P', F2: 'Q', F3: 'R', F4: 'S' };
const PLAIN: Record<string, string> = { Enter: '\r', Tab: '\t', Backspace: '\x7f', Escape: '\x1b', Space: ' ' };
// The keypad: its normal character, and its SS3 final in application mode.
const KEYPAD: Record<string, [string, string]> = {
  ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`KP${i}`, [String(i), String.fromCharCode(0x70 + i)]])),
  KPEnter: ['\r', 'M'],
  'KP+': ['+', 'k'],
  'KP-': ['-', 'm'],
  'KP*': ['*', 'j'],
  'KP/': ['/', 'o'],
  'KP.': ['.', 'n'],
};

/** The key names press() knows, for its error message. */
const NAMES = [...Object.keys(PLAIN), ...Object.keys(CURSOR), ...Object.keys(TILDE), ...Object.keys(PF), 'KP0-KP9', 'KPEnter'];

/**
 * The bytes for `key`: a name (`Up`, `Enter`, `F5`, `KP5`), a single
 * character, either with modifiers in front (`C-c`, `M-x`, `S-Tab`,
 * `C-Up`, `C-M-Left`).
 * @throws ERR_INVALID_ARG_VALUE for a key it does not know.
 */
export function encodeKey(key: string, modes: KeyModes): string {
  let ctrl = false;
  let meta = false;
  let shift = false;
  let name = key;
  for (let m = /^([CMS])-(.+)$/.exec(name); m !== null; m = /^([CMS])-(.+)$/.exec(name)) {
    if (m[1] === 'C') ctrl = true;
    else if (m[1] === 'M') meta = true;
    else shift = true;
    name = m[2];
  }
  // xterm's modifier parameter: 1 + Shift 1 + Alt 2 + Ctrl 4.
  const mod = 1 + (shift ? 1 : 0) + (meta ? 2 : 0) + (ctrl ? 4 : 0);
  if (name in CURSOR) {
    if (mod > 1) return `\x1b[1;${mod}${CURSOR[name]}`;
    return (modes.applicationCursorKeys ? '\x1bO' : '\x1b[') + CURSOR[name];
  }
  if (name in TILDE) return mod > 1 ? `\x1b[${TILDE[name]};${mod}~` : `\x1b[${TILDE[name]}~`;
  if (name in PF) return mod > 1 ? `\x1b[1;${mod}${PF[name]}` : `\x1bO${PF[name]}`;
  if (name in KEYPAD && mod === 1) return modes.applicationKeypad ? `\x1bO${KEYPAD[name][1]}` : KEYPAD[name][0];
  if (name === 'Tab' && shift && !ctrl && !meta) return '\x1b[Z';
  let text: string;
  if (name in PLAIN) text = PLAIN[name];
  else if ([...name].length === 1) text = name;
  else throw unknownKey(key);
  if (shift) text = text.toUpperCase();
  if (ctrl) text = controlOf(text, key);
  return meta ? `\x1b${text}` : text;
}

/** C-x: the character's control code (C-@ and C-Space NUL, C-? DEL), as a terminal sends it. */
function controlOf(text: string, key: string): string {
  if (text === ' ' || text === '@') return '\x00';
  if (text === '?') return '\x7f';
  const c = text.toUpperCase().charCodeAt(0);
  if (text.length !== 1 || c < 0x40 || c > 0x5f) throw unknownKey(key);
  return String.fromCharCode(c & 0x1f);
}

function unknownKey(key: string): Error {
  return invalidArgValue('key', `be a character, or ${NAMES.join(', ')}, with C-, M- or S- in front`, key);
}
