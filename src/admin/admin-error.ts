import { SqlbridgeError } from '../errors/sqlbridge-error.ts';

/**
 * An administrative request that cannot be done as asked: an unknown environment, a configured
 * client (only the configuration removes it), an unknown audit event. The message is meant for the
 * administrator and names what was wrong; `argument` says which input (`--env`, `--client`, …), so
 * the CLI can answer "bad usage" and the console can show it next to the form.
 */
export class AdminError extends SqlbridgeError {
  readonly argument: 'environment' | 'client' | 'user' | 'event' | 'outcome';

  constructor(argument: AdminError['argument'], message: string) {
    super('invalid_argument', message, { expose: true });
    this.name = 'AdminError';
    this.argument = argument;
  }
}
