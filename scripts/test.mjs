#!/usr/bin/env node
// Runs the tap suite with tap's TAP reporter, passes the TAP through, and
// ends with one line, `N passed, N failed, N skipped`, counted over the leaf
// test points (assertions), which is the form CI reads. Arguments are passed
// on to tap (test files, --grep, ...). The exit code is tap's, or 1 when
// anything failed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as readline from 'node:readline';

const require = createRequire(import.meta.url);
const tapBin = path.join(path.dirname(require.resolve('tap/package.json')), 'dist/esm/run.mjs');

const child = spawn(process.execPath, [tapBin, '--reporter=tap', '--no-color', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

let passed = 0;
let failed = 0;
let skipped = 0;
// Per indentation depth: whether a test point was seen below it since its
// last test point, and whether one of those (at any depth) failed.
const childSeen = [];
const childFailed = [];
const point = /^(\s*)(ok|not ok)\b(.*)$/;

const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  if (/^\s*Bail out!/.test(line)) {
    failed++;
    return;
  }
  const m = point.exec(line);
  if (!m) return;
  const depth = Math.floor(m[1].replace(/\t/g, '    ').length / 4);
  const ok = m[2] === 'ok';
  const directive = /#\s*(SKIP|TODO)\b/i.exec(m[3]);
  const isParent = childSeen[depth + 1] === true;
  const failedBelow = childFailed[depth + 1] === true;
  childSeen[depth + 1] = false;
  childFailed[depth + 1] = false;
  let countsAsFailure = false;
  if (!isParent) {
    if (directive) skipped++;
    else if (ok) passed++;
    else {
      failed++;
      countsAsFailure = true;
    }
  } else if (!ok && !directive && !failedBelow) {
    // A parent that failed with every child passing (a crash, a timeout, a
    // missing plan): count it, or the failure would vanish from the total.
    failed++;
    countsAsFailure = true;
  }
  childSeen[depth] = true;
  if (countsAsFailure || failedBelow) childFailed[depth] = true;
});

child.on('close', (code, signal) => {
  lines.close();
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exitCode = code !== 0 || signal || failed > 0 ? 1 : 0;
});
