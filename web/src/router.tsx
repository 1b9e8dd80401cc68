import { signal } from "@preact/signals";
import type { AnchorHTMLAttributes, ComponentChildren } from "preact";

/** The current path and query; the app renders from it (History API, no reloads). */
export const location$ = signal({ path: window.location.pathname, search: window.location.search });

export function navigate(to: string, replace = false): void {
  const url = new URL(to, window.location.origin);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  location$.value = { path: url.pathname, search: url.search };
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  location$.value = { path: window.location.pathname, search: window.location.search };
});

/** An anchor that navigates inside the app (a real link: open in a new tab still works). */
export function Link(
  props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children: ComponentChildren },
) {
  return (
    <a
      {...props}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    />
  );
}

export function queryParam(name: string): string | null {
  return new URLSearchParams(location$.value.search).get(name);
}
