import { useStore } from '../../store';

/** The prompt with how many of its tokens the model can take. */
export function PromptBox() {
  const prompt = useStore((s) => s.prompt);
  const info = useStore((s) => s.promptInfo);
  const setParam = useStore((s) => s.setParam);
  return (
    <section className="panel" aria-labelledby="prompt-title">
      <h2 id="prompt-title">
        <label htmlFor="prompt">Prompt</label>
      </h2>
      <textarea id="prompt" rows={3} value={prompt} onChange={(e) => setParam('prompt', e.target.value)} />
      <p className="token-count" aria-live="polite" data-testid="tokens-left">
        {info ? `${info.remaining} tokens left (of ${info.maxTokens})` : '\u00a0'}
      </p>
      {info?.truncated && (
        <p className="warning" role="status">
          Prompt too long: only its first {info.maxTokens} tokens are used (the last context positions hold the face).
        </p>
      )}
    </section>
  );
}
