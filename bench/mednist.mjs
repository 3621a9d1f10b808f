// The full MedNIST for the page benchmarks: extracted once from ../shared/data/MedNIST.tar.gz
// (or MEDNIST_DIR), and subsets of it made as folders the page can open.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const OUT = join(HERE, 'out');

/** The extracted full MedNIST folder (one subfolder per class). */
export function mednist() {
  const dir = process.env.MEDNIST_DIR || join(homedir(), '.cache', 'medclassify', 'MedNIST');
  if (!existsSync(dir)) {
    const archive = [join(ROOT, '..', 'shared', 'data', 'MedNIST.tar.gz'), '/work/shared/data/MedNIST.tar.gz'].find(existsSync);
    if (!archive) throw new Error('full MedNIST not found: set MEDNIST_DIR or put MedNIST.tar.gz in ../shared/data');
    execFileSync('tar', ['xzf', archive, '-C', dirname(dir)]);
  }
  return dir;
}

/** A folder with `count` files of `full`, the same share of every class (first by name). */
export function subset(full, count) {
  const classes = readdirSync(full).sort();
  const files = classes.map((c) => readdirSync(join(full, c)).sort());
  const total = files.reduce((a, f) => a + f.length, 0);
  if (count >= total) return [full, total];
  const dir = join(OUT, `mednist-first-${count}`);
  const made = existsSync(dir);
  let taken = 0;
  classes.forEach((c, i) => {
    const n = i === classes.length - 1 ? count - taken : Math.round((files[i].length * count) / total);
    taken += n;
    if (made) return;
    mkdirSync(join(dir, c), { recursive: true });
    for (const f of files[i].slice(0, n)) copyFileSync(join(full, c, f), join(dir, c, f));
  });
  return [dir, count];
}

