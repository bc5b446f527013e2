import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/** The committed JSON Schema editors read (checked against `collector schema` in config.test.ts). */
export const SCHEMA_FILE = join(import.meta.dirname, '..', '..', 'config', 'schema.json');

let validator: ValidateFunction | undefined;

/** What config/schema.json says about a config's YAML text, one line per problem; [] when it validates. */
export function schemaProblems(yaml: string): string[] {
  validator ??= new Ajv({ allErrors: true, strictTypes: false }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  if (validator(parse(yaml) ?? {})) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '(root)'}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

/**
 * Writes a config file a test runs with, after checking it against the JSON Schema: every
 * config the tests use is one the schema accepts (so editors do not flag what works). A config
 * written to be refused is written with writeFileSync instead.
 */
export function writeConfig(file: string, yaml: string): string {
  const problems = schemaProblems(yaml);
  if (problems.length) throw new Error(`${file} does not validate against config/schema.json:\n${problems.join('\n')}\n---\n${yaml}`);
  writeFileSync(file, yaml);
  return file;
}

/** A feed for a config a test only reads storage with: a config without feeds is refused. */
export const A_FEED = 'feeds:\n  - { name: btc-usdt, exchange: binance, symbol: BTC-USDT, collect: [trades] }\n';
