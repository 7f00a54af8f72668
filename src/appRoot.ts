/**
 * The folder the app is served from, on the page and in its workers: https://host/ or, on a GitHub
 * Pages project site, https://user.github.io/repo/. The build uses relative URLs (vite.config.ts,
 * base './') and puts every chunk, the page's and the workers' alike, in assets/ one level below
 * that folder; the dev server serves the app from /.
 */
export function appRoot(): URL {
  return import.meta.env.DEV ? new URL('/', globalThis.location.href) : new URL(/* @vite-ignore */ '../', import.meta.url);
}
