import type { KeyboardEvent } from 'react';
import type { FacePhoto as Photo, SlotId } from '../store';

/** The uploaded photo with every detected face outlined; clicking a face picks it. */
export function FacePhoto({ slot, photo, onPick }: { slot: SlotId; photo: Photo; onPick: (index: number) => void }) {
  const { analysis } = photo;
  const stroke = Math.max(1.5, analysis.imageWidth / 200);
  const onKey = (index: number) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onPick(index);
    }
  };
  return (
    <div className="photo">
      <img src={photo.url} alt={`Face ${slot} photo: ${photo.name}`} />
      <svg
        viewBox={`0 0 ${analysis.imageWidth} ${analysis.imageHeight}`}
        preserveAspectRatio="none"
        aria-label={`Faces detected in face ${slot} photo`}
        data-image-width={analysis.imageWidth}
        data-image-height={analysis.imageHeight}
      >
        {analysis.faces.map((face, i) => {
          const chosen = i === analysis.chosen;
          return (
            <rect
              key={i}
              className={chosen ? 'face-box chosen' : 'face-box'}
              x={face.box.x}
              y={face.box.y}
              width={face.box.width}
              height={face.box.height}
              strokeWidth={stroke}
              role="button"
              tabIndex={0}
              aria-pressed={chosen}
              aria-label={`Face ${i + 1} of ${analysis.faces.length} (score ${face.score.toFixed(2)})${chosen ? ', chosen' : ''}`}
              onClick={() => onPick(i)}
              onKeyDown={onKey(i)}
            />
          );
        })}
      </svg>
    </div>
  );
}
