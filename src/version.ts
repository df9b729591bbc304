import { readFileSync } from 'node:fs';

/** The package version (package.json), for --version, logs and the status API. */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
