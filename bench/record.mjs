// Writes a benchmark's raw record: `<stem>.json`, or `<stem>-run2.json`, `-run3`, ... where a
// run of the same day and label already wrote one. A record is never written over (one was
// lost that way on 2026-12-06), and never half: it is written whole to a new file.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes `record` as JSON next to `stem` (a path without `.json`); returns the file's path. */
export function writeRecord(stem, record) {
  mkdirSync(dirname(stem), { recursive: true });
  let file = `${stem}.json`;
  for (let n = 2; existsSync(file); n++) file = `${stem}-run${n}.json`;
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
  return file;
}
