import { fixture } from './fixtures.js';

/** An OKX fixture file's text, exactly as recorded. */
export function okxFixture(name: string): string {
  return fixture('okx', name);
}

/** The non-empty lines of an OKX `.jsonl` fixture: one recorded frame each. */
export function okxFixtureLines(name: string): string[] {
  return okxFixture(name).split('\n').filter((line) => line.trim().length > 0);
}

/** A documented example from okx/docs_examples_protocol.json, re-serialized as a frame. */
export function okxDocsExample(name: string): string {
  const docs = JSON.parse(okxFixture('docs_examples_protocol.json')) as Record<string, unknown>;
  if (!(name in docs)) throw new Error(`okx docs_examples_protocol.json has no ${name}`);
  return JSON.stringify(docs[name]);
}
