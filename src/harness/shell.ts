/**
 * Shell integration: a shell started with prompt marks, so that the harness
 * knows where each command's output begins and ends and how it exited, as
 * terminals that speak FinalTerm's marks do (OSC 133: A prompt start, B
 * prompt end, C output start, D;code command done; OSC 7: the working
 * directory as a file: URL). The marks are installed without touching the
 * user's files: bash reads a generated `--rcfile` that sources ~/.bashrc
 * first, zsh a generated `ZDOTDIR` whose files source the user's, fish an
 * `--init-command` (run after its config), and POSIX sh (dash, busybox ash)
 * an `ENV` file that sources the user's `$ENV` and sets `PS1`.
 * @internal
 * @module
 */
/* eslint-disable no-control-regex -- the output's escape sequences (ESC, BEL) are what these expressions match. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The shells with an integration, by the name their binary goes by. */
export type ShellKind = 'bash' | 'zsh' | 'fish' | 'sh';

/** What the harness needs to start a shell with its marks. */
export interface ShellLaunch {
  kind: ShellKind;
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The directory of the generated files, removed when the harness closes. */
  dir: string;
}

const OSC = (body: string): string => `\x1b]${body}\x07`;
/** A `$` for the scripts below: String.raw would keep the backslash of `\${`. */
const D = '$';

// bash: $? saved first, the marks last, so that a PROMPT_COMMAND of the
// user's own (a string or, from bash 5.1, an array) runs between them and
// a PS1 it sets is wrapped. PS0 is printed once a command has been read,
// before it runs: the output's start.
const BASH = String.raw`
[ -f ~/.bashrc ] && . ~/.bashrc
__kqc_status() { __kqc_last=$?; }
__kqc_marks() {
  printf '\033]133;D;%s\007\033]7;file://%s%s\007' "$__kqc_last" "${D}{HOSTNAME:-localhost}" "$PWD"
  case $PS1 in *']133;B'*) ;; *) PS1='\[\033]133;A\007\]'"$PS1"'\[\033]133;B\007\]' ;; esac
}
if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
  PROMPT_COMMAND=(__kqc_status "${D}{PROMPT_COMMAND[@]}" __kqc_marks)
else
  PROMPT_COMMAND="__kqc_status${D}{PROMPT_COMMAND:+; $PROMPT_COMMAND}; __kqc_marks"
fi
PS0=$'\033]133;C\007'"${D}{PS0-}"
`;

// zsh: ZDOTDIR is ours while zsh reads its startup files; each sources the
// user's own from their ZDOTDIR (or HOME), and .zshrc puts it back.
const ZSHENV = String.raw`__kqc_zdotdir=$ZDOTDIR
ZDOTDIR=${D}{KQC_USER_ZDOTDIR:-$HOME}
[ -f "$ZDOTDIR/.zshenv" ] && . "$ZDOTDIR/.zshenv"
KQC_USER_ZDOTDIR=$ZDOTDIR
ZDOTDIR=$__kqc_zdotdir
`;
const ZSHRC = String.raw`ZDOTDIR=$KQC_USER_ZDOTDIR
[ -f "$ZDOTDIR/.zshrc" ] && . "$ZDOTDIR/.zshrc"
__kqc_status() { __kqc_last=$?; }
__kqc_marks() {
  print -rn -- $'\e]133;D;'"$__kqc_last"$'\a\e]7;file://'"${D}{HOST:-localhost}$PWD"$'\a'
  [[ $PS1 == *']133;B'* ]] || PS1=$'%{\e]133;A\a%}'"$PS1"$'%{\e]133;B\a%}'
}
__kqc_preexec() { print -rn -- $'\e]133;C\a'; }
# PROMPT_SP marks and blanks out an unfinished last line before precmd runs,
# inside the command's output: off, so that the output ends where it ended.
unsetopt PROMPT_SP
precmd_functions=(__kqc_status $precmd_functions __kqc_marks)
preexec_functions+=(__kqc_preexec)
`;

// fish: its events. fish_postexec has the command's status; the
// fish_prompt event comes before each prompt is drawn, and the prompt's
// function, wrapped, ends it.
const FISH = [
  'function fish_greeting; end',
  // The prompt's end: the user's fish_prompt (from their config, or fish's own), then B.
  'functions --copy fish_prompt __kqc_user_prompt',
  "function fish_prompt; __kqc_user_prompt; printf '\\e]133;B\\a'; end",
  "function __kqc_prompt --on-event fish_prompt; printf '\\e]133;A\\a\\e]7;file://%s%s\\a' (hostname) $PWD; end",
  "function __kqc_preexec --on-event fish_preexec; printf '\\e]133;C\\a'; end",
  "function __kqc_postexec --on-event fish_postexec; printf '\\e]133;D;%s\\a' $status; end",
].join('\n');

// POSIX sh: no hooks, but PS1 is expanded at each prompt, $? and $(...)
// included (dash, busybox ash). No hook runs before a command either:
// run() puts the C mark in front of the command line (commandLine()).
// busybox ash's line editor counts what PS1 prints unless it is between
// \[ and \] (as bash's); dash would print those.
const SH = (userEnv: string | undefined, editor: boolean): string => {
  const hide = (text: string): string => (editor ? `\\[${text}\\]` : text);
  const before = hide(`${OSC('133;D;$?')}${OSC('7;file://localhost$PWD')}${OSC('133;A')}`);
  return [userEnv ? `. ${shellQuote(userEnv)}` : '', `PS1='${before}'"\${PS1-\\$ }"'${hide(OSC('133;B'))}'`, ''].join('\n');
};

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The line run() types for `command`: as it is, or for sh, which has no
 * hook before a command, behind a printf of the C mark, so that the output
 * is told from the echo of the command (a line editor may wrap it anywhere).
 */
export function commandLine(kind: ShellKind, command: string): string {
  return kind === 'sh' ? `printf '\\033]133;C\\007'; ${command}` : command;
}

/** The kind of `file` by its name; null for a shell without an integration. */
export function shellKind(file: string): ShellKind | null {
  const name = path.basename(file);
  if (name === 'bash' || name === 'zsh' || name === 'fish') return name;
  if (name === 'sh' || name === 'dash' || name === 'ash' || name === 'busybox') return 'sh';
  return null;
}

/** How to start `file` interactive with its marks; the files it needs are written to a new private directory. */
export function shellLaunch(file: string, kind: ShellKind, env: NodeJS.ProcessEnv): ShellLaunch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-shell-'));
  const write = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text, { mode: 0o600, flag: 'wx' });
    return f;
  };
  const sub = path.basename(file) === 'busybox' ? ['sh'] : [];
  switch (kind) {
    case 'bash':
      return { kind, file, args: ['--rcfile', write('bashrc', BASH), '-i'], env, dir };
    case 'zsh':
      write('.zshenv', ZSHENV);
      write('.zshrc', ZSHRC);
      return { kind, file, args: ['-i'], env: { ...env, ZDOTDIR: dir, KQC_USER_ZDOTDIR: env.ZDOTDIR ?? env.HOME ?? '' }, dir };
    case 'fish':
      return { kind, file, args: ['-i', '--init-command', FISH], env, dir };
    case 'sh':
      return {
        kind,
        file,
        args: [...sub, '-i'],
        env: { ...env, ENV: write('env.sh', SH(env.ENV, /^(busybox|ash)$/.test(path.basename(file)))) },
        dir,
      };
  }
}

/** A mark seen in the output, at its end's position in the transcript's text. */
export interface Mark {
  kind: 'A' | 'B' | 'C' | 'D';
  at: number;
  /** D: the command's exit code. */
  code?: number;
}

// OSC 133 and OSC 7, ended by BEL or ST. An OSC cut by the end of a read is
// carried to the next.
const MARKS = /\x1b\](?:133;([ABCD])(?:;(\d+))?[^\x07\x1b]*|7;([^\x07\x1b]*))(?:\x07|\x1b\\)/g;

/** The marks in a shell's output, as they come; what run() reads a command's result from. */
export class ShellMarks {
  /** The marks since the last prompt, and the one before (a command's D comes before the next A). */
  private marks: Mark[] = [];
  private carry = '';
  private carryAt = 0;
  /** The working directory the last OSC 7 said, or null. */
  cwd: string | null = null;
  /** Whether a prompt mark has been seen at all. */
  seenPrompt = false;
  private listener: (() => void) | null = null;

  /** Text added to the output at position `at`. */
  scan(text: string, at: number): void {
    const all = this.carry + text;
    const base = this.carry.length > 0 ? this.carryAt : at;
    MARKS.lastIndex = 0;
    let end = 0;
    for (let m = MARKS.exec(all); m !== null; m = MARKS.exec(all)) {
      end = MARKS.lastIndex;
      if (m[3] !== undefined) {
        this.cwd = fileUrlPath(m[3]);
        continue;
      }
      const kind = m[1] as Mark['kind'];
      if (kind === 'A') this.seenPrompt = true;
      this.marks.push({ kind, at: base + end, ...(m[2] !== undefined ? { code: Number(m[2]) } : {}) });
      if (this.marks.length > 64) this.marks.splice(0, this.marks.length - 64);
    }
    // An OSC begun and not ended: kept for the next read (at most a few hundred characters).
    const open = all.lastIndexOf('\x1b]');
    const keep = open >= end && !/\x07|\x1b\\/.test(all.slice(open)) && all.length - open < 4096;
    this.carry = keep ? all.slice(open) : '';
    this.carryAt = base + open;
    if (this.marks.length > 0) this.listener?.();
  }

  /** The marks after position `from`. */
  after(from: number): Mark[] {
    return this.marks.filter((m) => m.at > from);
  }

  /** The last mark, or null. */
  get last(): Mark | null {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : null;
  }
}

/** The path of an OSC 7 `file://host/path` URL, decoded; the text itself when it is not one. */
function fileUrlPath(url: string): string {
  const m = /^file:\/\/[^/]*(\/.*)$/.exec(url);
  if (m === null) return url;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/**
 * The text a command printed, from what the output held between its start
 * and its D mark: escape sequences and the marks left out, CR LF as LF, and
 * a lone CR (a line drawn over) as the terminal shows it, the later text
 * over the earlier.
 */
export function commandText(raw: string): string {
  const plain = raw
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    // A charset's designation (ESC ( B), then any other escape of one character (ESC =, ESC 7).
    .replace(/\x1b[ -/]+[0-~]/g, '')
    .replace(/\x1b[0-~]/g, '')
    .replace(/\r+\n/g, '\n');
  return plain
    .split('\n')
    .map((line) => line.split('\r').reduce((shown, over) => over + shown.slice(over.length)))
    .join('\n');
}
