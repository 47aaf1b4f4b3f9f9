/**
 * The connector's `filters` (include / exclude rules over eventSource, eventName, readOnly).
 * A rule matches when every field it names matches; `*` in a pattern matches any run of
 * characters. With include rules, an event must match one; any exclude rule drops it.
 */
import type { FilterRule, Filters } from './connector';
import type { SourceEvent } from './event';

const globToRegExp = (pattern: string): RegExp =>
  new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

type Matcher = (event: SourceEvent) => boolean;

function ruleMatcher(rule: FilterRule): Matcher {
  const source = rule.eventSource ? globToRegExp(rule.eventSource) : undefined;
  const name = rule.eventName ? globToRegExp(rule.eventName) : undefined;
  return (event) =>
    (!source || source.test(event.eventSource ?? '')) &&
    (!name || name.test(event.eventName ?? '')) &&
    (rule.readOnly === undefined || (event.readOnly === 'true') === rule.readOnly);
}

/** Returns `keep(event)`: true to deliver, false to drop as filtered. */
export function compileFilters(filters: Filters): (event: SourceEvent) => boolean {
  const include = (filters.include ?? []).map(ruleMatcher);
  const exclude = (filters.exclude ?? []).map(ruleMatcher);
  if (include.length === 0 && exclude.length === 0) return () => true;
  return (event) => (include.length === 0 || include.some((m) => m(event))) && !exclude.some((m) => m(event));
}
