// Language codes: JSON headers carry the name (`"JAVA"`), binary headers the byte.

/** Byte value of each language name. */
export const LanguageCode = {
  JAVA: 0,
  CPP: 1,
  DOTNET: 2,
  PYTHON: 3,
  DELPHI: 4,
  ERLANG: 5,
  RUBY: 6,
  OTHER: 7,
  HTTP: 8,
  GO: 9,
  PHP: 10,
  OMS: 11,
  RUST: 12,
  NODE_JS: 13,
} as const;

/** A language name as written in JSON headers. */
export type LanguageName = keyof typeof LanguageCode;

const byCode: readonly LanguageName[] = (() => {
  const names: LanguageName[] = [];
  for (const [name, code] of Object.entries(LanguageCode)) names[code] = name as LanguageName;
  return names;
})();

/**
 * The language we announce. Old Java peers map unknown names/bytes to null, and some branch
 * on JAVA, so we present ourselves as a Java peer, like every RocketMQ server does.
 */
export const BOLIDE_LANGUAGE: LanguageName = 'JAVA';

/** Name for a binary language byte; unknown bytes map to `OTHER` rather than failing the frame. */
export function languageFromCode(code: number): LanguageName {
  return byCode[code] ?? 'OTHER';
}

/** Name for a JSON `language` value (a name, or a number from lenient peers); unknown → `OTHER`. */
export function languageFromJson(value: unknown): LanguageName {
  if (typeof value === 'string' && Object.hasOwn(LanguageCode, value)) return value as LanguageName;
  if (typeof value === 'number') return languageFromCode(value);
  return 'OTHER';
}
