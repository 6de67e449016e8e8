export function nativeSources(): string[];
