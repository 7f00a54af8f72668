import type { KeyboardEvent } from 'react';
import type { DetectedFace } from '../../engineWorker/api';
import type { FacePhoto as Photo, SlotId } from '../../store';

const THUMB_PX = 48;

/** A detected face cut out of the photo by CSS (no pixels are copied). */
function FaceThumb({ photo, face }: { photo: Photo; face: DetectedFace }) {
  const { imageWidth, imageHeight } = photo.analysis;
  const side = Math.max(face.box.width, face.box.height) * 1.4;
  const scale = THUMB_PX / side;
  const x = face.box.x + face.box.width / 2 - side / 2;
  const y = face.box.y + face.box.height / 2 - side / 2;
  return (
    <span
      className="face-thumb"
      style={{
        backgroundImage: `url(${photo.url})`,
        backgroundSize: `${imageWidth * scale}px ${imageHeight * scale}px`,
        backgroundPosition: `${-x * scale}px ${-y * scale}px`,
      }}
    />
  );
}

/** The uploaded photo with every detected face outlined; clicking a face (box or button) picks it. */
export function FacePhoto({ slot, photo, onPick }: { slot: SlotId; photo: Photo; onPick: (index: number) => void }) {
  const { analysis } = photo;
  const stroke = Math.max(1.5, analysis.imageWidth / 200);
  const several = analysis.faces.length > 1;
  const onKey = (index: number) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onPick(index);
    }
  };
  const name = (i: number) =>
    `Face ${i + 1} of ${analysis.faces.length} (score ${analysis.faces[i].score.toFixed(2)})${i === analysis.chosen ? ', chosen' : ''}`;
  return (
    <>
      <div className="photo">
        <img src={photo.url} alt={`Face ${slot} photo: ${photo.name}`} />
        <svg
          viewBox={`0 0 ${analysis.imageWidth} ${analysis.imageHeight}`}
          preserveAspectRatio="none"
          aria-label={`Faces detected in face ${slot} photo`}
          data-image-width={analysis.imageWidth}
          data-image-height={analysis.imageHeight}
        >
          {analysis.faces.map((face, i) => (
            <rect
              key={i}
              className={i === analysis.chosen ? 'face-box chosen' : 'face-box'}
              x={face.box.x}
              y={face.box.y}
              width={face.box.width}
              height={face.box.height}
              strokeWidth={stroke}
              role="button"
              tabIndex={0}
              aria-pressed={i === analysis.chosen}
              aria-label={name(i)}
              onClick={() => onPick(i)}
              onKeyDown={onKey(i)}
            />
          ))}
        </svg>
      </div>
      {several && (
        <div className="face-chooser">
          <p className="hint" data-testid={`face-${slot}-chooser-hint`}>
            {analysis.faces.length} faces found; the largest is used. Click a box on the photo, or a face here, to use another.
          </p>
          <div className="row">
            {analysis.faces.map((face, i) => (
              <button
                key={i}
                type="button"
                className={i === analysis.chosen ? 'face-choice chosen' : 'face-choice'}
                aria-pressed={i === analysis.chosen}
                aria-label={`Use ${name(i).replace(/^Face/, 'face')}`}
                onClick={() => onPick(i)}
              >
                <FaceThumb photo={photo} face={face} />
                {i + 1}
              </button>
            ))}
          </div>
        </div>
      )}
    </>
  );
}
