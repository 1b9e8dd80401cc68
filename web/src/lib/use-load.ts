import { useCallback, useEffect, useState } from "preact/hooks";

/**
 * Loads with `load` when `deps` change (and on `reload()`); `every` polls while it returns a
 * number of milliseconds for the data just read (e.g. while a withdrawal awaits approval).
 */
export function useLoad<T>(
  load: () => Promise<{ data?: T }>,
  deps: unknown[] = [],
  every?: (data: T) => number | undefined,
): [T | undefined, () => void] {
  const [data, setData] = useState<T | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    void load().then((r) => {
      if (!live || r.data === undefined) return;
      setData(r.data);
      const ms = every?.(r.data);
      if (ms) timer = setTimeout(reload, ms);
    });
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return [data, reload];
}
