import { Alerts } from './ui/Alerts';
import { FacePanel } from './ui/FacePanel';
import { Gallery } from './ui/Gallery';
import { Header } from './ui/Header';
import { LoadProgress } from './ui/LoadProgress';
import { MixControls } from './ui/MixControls';
import { ModelInfo } from './ui/ModelInfo';
import { PromptBox } from './ui/PromptBox';
import { ResultView } from './ui/ResultView';
import { SavedFaces } from './ui/SavedFaces';
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
          <SavedFaces />
        </div>
        <div className="column">
          <PromptBox />
          <MixControls />
          <Sliders />
          <ModelInfo />
        </div>
        <div className="column">
          <ResultView />
          <Gallery />
        </div>
      </main>
    </>
  );
}
