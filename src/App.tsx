import { Alerts } from './ui/Alerts';
import { FacePanel } from './ui/FacePanel';
import { Header } from './ui/Header';
import { LoadProgress } from './ui/LoadProgress';
import { MixControls } from './ui/MixControls';
import { ModelInfo } from './ui/ModelInfo';
import { PromptBox } from './ui/PromptBox';
import { ResultView } from './ui/ResultView';
import { Sliders } from './ui/Sliders';
import { useLiveGeneration, usePromptInfo } from './ui/useLiveGeneration';

export function App({ bundleName }: { bundleName: string }) {
  useLiveGeneration();
  usePromptInfo();
  return (
    <>
      <Header bundleName={bundleName} />
      <LoadProgress />
      <Alerts />
      <main className="layout">
        <div className="column">
          <FacePanel slot="A" />
          <FacePanel slot="B" />
          <MixControls />
        </div>
        <div className="column">
          <PromptBox />
          <Sliders />
          <ModelInfo />
        </div>
        <div className="column">
          <ResultView />
        </div>
      </main>
    </>
  );
}
