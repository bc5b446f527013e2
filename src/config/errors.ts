/** A config the collector refuses: each problem names the file, the field's path and what was expected. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(problems.map((p) => `${file}: ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}
