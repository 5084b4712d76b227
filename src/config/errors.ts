/** A configuration problem found at startup; its message is the one line printed before exiting. */
export class ConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`configuration error: ${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}
