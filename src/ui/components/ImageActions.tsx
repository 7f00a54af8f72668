import { useState } from 'react';
import { useStore, type GalleryItem } from '../../store';
import { useEngine } from '../hooks/engineContext';
import { loadCharacter, placeFace } from '../actions/faceActions';
import { downloadPng, itemLabel, pngBlob, restoreSettings } from '../actions/gallery';

/**
 * What can be done with a finished image: download it (PNG with its settings and an AI-generated
 * statement), restore its settings, keep its character (paper 3.2) or pin the random face that made it.
 */
export function ImageActions({ item, restore = true }: { item: GalleryItem; restore?: boolean }) {
  const client = useEngine();
  const [busy, setBusy] = useState(false);
  const name = itemLabel(item);
  const perImageFace = item.settings.randomFaceSeed;
  const keepCharacter = async () => {
    setBusy(true);
    try {
      if (await loadCharacter(client, 'A', item, await pngBlob(item), `Character from ${name}`)) {
        useStore.setState({ randomFacePerImage: false });
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="row image-actions">
      <button type="button" onClick={() => void downloadPng(item)}>
        Download PNG
      </button>
      {restore && (
        <button type="button" onClick={() => restoreSettings(item)}>
          Restore settings
        </button>
      )}
      <button
        type="button"
        disabled={busy}
        title="Embed the face in this image and use it as face A, to keep this person in new prompts"
        onClick={() => void keepCharacter()}
      >
        Keep this character
      </button>
      {perImageFace !== null && item.faceEmbedding !== null && (
        <button
          type="button"
          title="Use the random face this image was made with as face A, for every image from now on"
          onClick={() => {
            placeFace('A', {
              source: 'random',
              label: `Random face of ${name} (seed ${perImageFace})`,
              randomSeed: perImageFace,
              embedding: item.faceEmbedding!,
              crops: [],
            });
            useStore.setState({ randomFacePerImage: false });
          }}
        >
          Pin its random face
        </button>
      )}
    </div>
  );
}
