/** Where the CLI writes for people (help, check results, fatal errors): not the structured log. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: text => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: text => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
};
