import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { PrivateerError } from "../../src";

/**
 * The optional config file: JSON, with options by their long name (kebab or
 * camel case) at the top level, for every command, and in a section named
 * after a command, for that command only (which wins).
 *
 * ```json
 * { "log-level": "debug", "broker": { "bind": ["tcp://127.0.0.1:5555"], "metrics": "127.0.0.1:9464" } }
 * ```
 */
export type ConfigFile = Record<string, unknown>;

/** Reads and parses a config file; a missing or malformed file is an error, never silently ignored. */
export function readConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new PrivateerError("ENOENT", `cannot read config file ${path}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PrivateerError("EINVAL", `config file ${path} is not valid JSON`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new PrivateerError("EINVAL", `config file ${path} must hold a JSON object`);
  }
  return parsed as ConfigFile;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Fills in, from the config file, every option of `command` that neither a
 * flag nor an environment variable set: commander records where each value
 * came from, so the precedence is flags, then `PRIVATEER_…` variables, then
 * the file, then the defaults. Unknown keys are errors (a typo must not
 * pass for a setting).
 */
export function applyConfig(command: Command, config: ConfigFile): void {
  const known = new Map(command.options.map((option) => [option.attributeName(), option]));
  const commandNames = new Set(command.parent?.commands.map((c) => c.name()) ?? []);
  const section = config[command.name()];
  const layers: Array<[string, Record<string, unknown>]> = [["", config]];
  if (section !== undefined) {
    if (typeof section !== "object" || section === null || Array.isArray(section)) {
      throw new PrivateerError("EINVAL", `config section "${command.name()}" must be a JSON object`);
    }
    layers.push([`${command.name()}.`, section as Record<string, unknown>]);
  }
  /** By option name: the value and the key it was written under (for messages). */
  const values = new Map<string, { value: unknown; key: string }>();
  for (const [where, layer] of layers) {
    for (const [key, value] of Object.entries(layer)) {
      // Another command's section is not this command's business.
      if (where === "" && commandNames.has(key)) continue;
      const name = camel(key);
      if (name === "config") continue;
      if (!known.has(name)) {
        // Top-level keys may belong to other commands; a section's keys must be this command's.
        if (where === "" && commandNames.size > 0 && isAnyCommandsOption(command, name)) continue;
        throw new PrivateerError("EINVAL", `config key "${where}${key}" is not an option of "${command.name()}"`);
      }
      values.set(name, { value, key: `${where}${key}` });
    }
  }
  for (const [name, { value, key }] of values) {
    const source = command.getOptionValueSource(name);
    if (source === "cli" || source === "env") continue;
    const option = known.get(name)!;
    // The file's values get the checks a flag gets: the option's parser (numbers, as text) and its choices.
    const parser = (option as unknown as { parseArg?: (value: string, previous: unknown) => unknown }).parseArg;
    const scalar = typeof value === "string" || typeof value === "number";
    let parsed: unknown;
    try {
      parsed = scalar && parser ? parser(String(value), undefined) : value;
    } catch (error) {
      throw new PrivateerError("EINVAL", `config key "${key}" (${JSON.stringify(value)}): ${(error as Error).message}`, { cause: error });
    }
    if (option.argChoices && !option.argChoices.includes(String(parsed))) {
      throw new PrivateerError("EINVAL", `config key "${key}" must be one of ${option.argChoices.join(", ")}, got ${JSON.stringify(value)}`);
    }
    // A list option (--bind a b) may be written as one string in the file.
    if (option.variadic && !Array.isArray(parsed)) {
      command.setOptionValueWithSource(name, [parsed], "config");
      continue;
    }
    command.setOptionValueWithSource(name, parsed, "config");
  }
}

function isAnyCommandsOption(command: Command, name: string): boolean {
  return (command.parent?.commands ?? []).some((c) => c.options.some((o) => o.attributeName() === name));
}
