// tests/bench/native.py as a child process of a bench: one JSON request per line, one JSON answer per line.
// It runs at the bench's own CPU priority: where the bench (and so its browser) is under SCHED_IDLE (as on
// the shared machine, whose training run keeps the cores), so is the native process, or the browser/native
// ratio would compare an idle-priority browser with a normal-priority native run.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ROOT } from '../e2e/harness.mjs';

function idlePriority() {
  try {
    return execFileSync('chrt', ['-p', String(process.pid)], { encoding: 'utf8' }).includes('SCHED_IDLE');
  } catch {
    return false; // no chrt (not Linux): the child inherits the niceness anyway
  }
}

export function startNative() {
  const python = `${ROOT}.venv/bin/python`;
  if (!existsSync(python)) throw new Error(`${python} missing: the native column needs the project's venv (bash scripts/setup.sh), or pass --no-native`);
  const command = idlePriority() ? ['chrt', ['-i', '0', python, `${ROOT}tests/bench/native.py`]] : [python, [`${ROOT}tests/bench/native.py`]];
  const child = spawn(command[0], command[1], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const ask = (request) =>
    new Promise((resolve, reject) => {
      waiting.push((answer) => (answer.error ? reject(new Error(`native: ${answer.error}`)) : resolve(answer)));
      child.stdin.write(JSON.stringify(request) + '\n');
    });
  return { ask, close: () => child.stdin.end() };
}
