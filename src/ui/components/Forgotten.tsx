import type { ForgetReport } from '../../offline/deviceData';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Shown instead of the app once everything is forgotten: nothing runs any more, so nothing is kept again. */
export function Forgotten({ report }: { report: ForgetReport }) {
  const storage = report.localStorageKeys + report.sessionStorageKeys;
  return (
    <main className="forgotten" data-testid="forgotten">
      <h1>Face0 Studio forgot everything on this device</h1>
      <ul>
        <li>{plural(report.caches.length, 'cache')} of offline files deleted</li>
        <li>{plural(report.serviceWorkers, 'service worker')} removed</li>
        <li>{plural(report.databases.length, 'saved database')} deleted</li>
        <li>{plural(storage, 'stored setting')} deleted</li>
        {report.fileSystemEntries > 0 && <li>{plural(report.fileSystemEntries, 'stored file')} deleted</li>}
        <li>The model and the photos in this tab are closed</li>
      </ul>
      {report.blockedDatabases.length > 0 && (
        <p className="alert warning">
          {report.blockedDatabases.join(', ')}: still held open (by another tab of this app, or by this one); the
          browser deletes {report.blockedDatabases.length === 1 ? 'it' : 'them'} once {report.blockedDatabases.length === 1 ? 'it is' : 'they are'}{' '}
          closed.
        </p>
      )}
      <p className="hint">
        The browser's own HTTP cache may still hold copies of the app's public files (code and model, never your
        photos); the browser's settings clear it.
      </p>
      <p>
        Close this tab, or <a href={location.pathname}>start again</a> (the model is downloaded again).
      </p>
    </main>
  );
}
