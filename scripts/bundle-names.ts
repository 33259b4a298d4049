// What the bundle (scripts/build-dist.ts) did to error class names. The bundle does not keep
// function names (that costs a call per closure created), so a class the bundler renames
// runs under the new name, and an error's name is what logs and `err.name` show.

/** Error classes whose runtime name is not the one written: `X=class _X`, `class XError2`. */
export function renamedErrorClasses(bundle: string): string[] {
  const out = new Set<string>();
  for (const m of bundle.matchAll(/\b(\w*Error)=class (\w+)(?= extends|\{)/g))
    if (m[2] !== m[1]) out.add(`${m[1]} (as ${m[2]})`);
  for (const m of bundle.matchAll(/\bclass (\w*Error\d+)\b/g)) out.add(m[1] as string);
  for (const m of bundle.matchAll(/\b(\w*Error\d+)=class\b/g)) out.add(m[1] as string);
  return [...out];
}
