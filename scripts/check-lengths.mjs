#!/usr/bin/env node
// Fails when a function in src/, native/, examples/, bench/ or test/helpers/
// is over 50 lines, or a class over 250, unless the comment just above it
// says why it must be one piece: a line beginning "One function," or "One
// class," (part of `npm run lint`). The examples are held to it too: users
// copy them first.
// TypeScript is read with the compiler's parser; C++ by its layout, which
// clang-format fixes: a definition begins at a line with no indent that
// opens a parameter list, and ends at the next "}" with no indent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const MAX_FUNCTION = 50;
const MAX_CLASS = 250;
const problems = [];

/** Whether the lines just above `line` (0-based) hold a comment that begins with `why`. */
function justified(lines, line, why) {
  for (let i = line - 1; i >= 0 && /^\s*(\/\/|\/\*|\*|@|export|\/\*\*)/.test(lines[i]); i--) {
    if (lines[i].includes(why)) return true;
  }
  return false;
}

function checkTs(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos) => sf.getLineAndCharacterOfPosition(pos).line;
  const visit = (node) => {
    const first = lineOf(node.getStart(sf));
    const length = lineOf(node.end) - first + 1;
    const name = node.name?.getText(sf) ?? (ts.isConstructorDeclaration(node) ? 'constructor' : 'a function');
    if (ts.isClassDeclaration(node) && length > MAX_CLASS && !justified(lines, first, 'One class,')) {
      problems.push(`${file}:${first + 1}: class ${name} is ${length} lines (at most ${MAX_CLASS} without a "One class," comment)`);
    }
    const fn =
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isGetAccessorDeclaration(node);
    if (fn && node.body !== undefined && length > MAX_FUNCTION && !justified(lines, first, 'One function,')) {
      problems.push(`${file}:${first + 1}: ${name} is ${length} lines (at most ${MAX_FUNCTION} without a "One function," comment)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

function checkCpp(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^[A-Za-z].*\(/.test(lines[i]) || /;\s*$/.test(lines[i])) continue;
    let end = i;
    while (end < lines.length && !/^}/.test(lines[end])) {
      // A declaration that ends on a later line, or the next definition: not a body.
      if (end > i && /^[A-Za-z#]/.test(lines[end]) && !/[,)]\s*$|\{\s*$/.test(lines[end])) break;
      end++;
    }
    if (end >= lines.length || !/^}/.test(lines[end])) continue;
    const length = end - i + 1;
    if (length > MAX_FUNCTION && !justified(lines, i, 'One function,')) {
      problems.push(`${file}:${i + 1}: ${lines[i].trim()} is ${length} lines (at most ${MAX_FUNCTION} without a "One function," comment)`);
    }
    i = end;
  }
  // Classes: from "class X ... {" with no indent to its "};".
  for (let i = 0; i < lines.length; i++) {
    const m = /^(class|struct) (\w+)[^;]*\{\s*$/.exec(lines[i]);
    if (m === null) continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '};') end++;
    const length = end - i + 1;
    if (length > MAX_CLASS && !justified(lines, i, 'One class,')) {
      problems.push(`${file}:${i + 1}: class ${m[2]} is ${length} lines (at most ${MAX_CLASS} without a "One class," comment)`);
    }
  }
}

for (const dir of ['src', 'native', 'examples', 'bench', 'test/helpers']) {
  for (const name of fs.readdirSync(path.join(root, dir), { recursive: true }).sort()) {
    const file = path.join(root, dir, name);
    if (/\.(ts|mjs|js|cjs)$/.test(name)) checkTs(file);
    else if (/\.(cc|h)$/.test(name)) checkCpp(file);
  }
}

for (const p of problems) console.error(path.relative(root, p.slice(0, p.indexOf(':'))) + p.slice(p.indexOf(':')));
if (problems.length > 0) process.exit(1);
console.log(
  `check-lengths: every function in src/, native/, examples/, bench/ and test/helpers/ is at most ${MAX_FUNCTION} lines, every class at most ${MAX_CLASS}, or says why not`,
);
