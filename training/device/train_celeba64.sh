#!/bin/bash
# One accelerator session: a new celeba64 VAE, then the U-Net (+ text encoder + projector) from scratch on
# its latents, each `python -m face0 ...` exactly as on a CPU. Step counts come from timing the first steps,
# so the run ends inside BUDGET seconds. docs/training.md ("One GPU session") has the measured run.
#
# Prepare here (the device's working tree is limited to 64 MiB):
#   python -m face0 pack ../runs/celeba128-aug --out ../.gpu/celeba64        # 43 MB
#   mkdir -p ../.gpu/data/clip && cp ../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz ../.gpu/data/clip/
#   pip download (diffusers and importlib_metadata wheels) into ../.whl       # if the device lacks them
# Run there from the repository root: BUDGET=530 OUT=$OUT bash training/device/train_celeba64.sh
# Env: BUDGET (s, whole script), VAE_S (s for the VAE), VB / UB (VAE / U-Net batch), CAL (calibration
# steps), PRECISION (--bf16 or empty), PY, OUT (results: vae.pt, the slim checkpoint in 15 MiB parts, logs).
set -uo pipefail
T0=$(date +%s)
BUDGET=${BUDGET:-540}
VAE_S=${VAE_S:-110}
PY=${PY:-python3}
ROOT=$PWD
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
log() { echo "[$(($(date +%s) - T0))s] $*"; }
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false FACE0_DATA=$ROOT/.gpu/data
if [ -d .whl ] && [ -z "${NO_WHL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$ROOT/training
else
  export PYTHONPATH=$ROOT/training
fi
cd "$ROOT/training"
nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv 2>/dev/null
nproc
$PY -c "import torch, diffusers, transformers; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" || exit 2
DATA="$ROOT/.gpu/celeba64/*.tar.gz"
W=/tmp/face0-work
rm -rf $W && mkdir -p $W
VB=${VB:-128}
UB=${UB:-256}
CAL=${CAL:-300}

calc() { $PY -c "print($1)"; }
now() { date +%s.%N; }
log "smoke + VAE calibration"
t=$(now)
$PY -m face0 train-vae "$DATA" --config celeba64 --out $W/cal-vae.pt --steps 5 --batch $VB --cache-decoded || exit 3
t5=$(calc "$(now) - $t")
$PY -m face0 train "$DATA" --config celeba64 --vae $W/cal-vae.pt --out $W/smoke --max-steps 3 --global-batch 16 \
  --captions attributes ${PRECISION---bf16} --checkpoint-every 0 --validate-every 0 || exit 3
t=$(now)
$PY -m face0 train-vae "$DATA" --config celeba64 --out $W/cal-vae.pt --steps 45 --batch $VB --cache-decoded || exit 3
t45=$(calc "$(now) - $t")
VAE_STEPS=$(calc "int($VAE_S * 40 / ($t45 - $t5))")
log "VAE: 5 steps of $VB in $t5 s, 45 in $t45 s -> $VAE_STEPS steps"

log "VAE training"
$PY -m face0 train-vae "$DATA" --config celeba64 --out "$OUT/vae.pt" --steps "$VAE_STEPS" --batch $VB \
  --lr 4e-4 --lr-warmup 200 --lr-final 2e-5 --kl-weight 1e-6 --cache-decoded --seed 0 2>&1 | tee "$OUT/vae.log"
[ -f "$OUT/vae.pt" ] || exit 4

TRAIN=(train "$DATA" --config celeba64 --vae "$OUT/vae.pt" --out $W/train --global-batch $UB --lr 4e-4
  --lr-warmup 500 --lr-final 1e-5 --ema-decay 0.999 --captions attributes --face-source same ${PRECISION---bf16}
  --cache-decoded --checkpoint-every 1000 --keep-checkpoints 2 --log-every 20 --seed 0)
log "U-Net calibration (first $CAL steps of the run)"
$PY -m face0 "${TRAIN[@]}" --max-steps $CAL --validate-every 0 2>&1 | tee "$OUT/train.log" || exit 5
rate=$($PY -c "import json; r=[json.loads(l) for l in open('$W/train/metrics.jsonl')]; print(r[-1]['samples_per_s'])")
left=$((BUDGET - ($(date +%s) - T0) - 50))
MAX=$(calc "int($CAL + $rate * $left / $UB)")
log "U-Net: $rate samples/s, $left s left -> max steps $MAX"
$PY -m face0 "${TRAIN[@]}" --max-steps "$MAX" --lr-decay-from 500 --validate-every "$MAX" \
  --validation-images 8 2>&1 | tee -a "$OUT/train.log"

log "slim checkpoint"
$PY - "$W/train" "$OUT" <<'EOF'
import sys
from pathlib import Path
import torch
from face0.train import latest_checkpoint
train, out = Path(sys.argv[1]), Path(sys.argv[2])
path = latest_checkpoint(train)
state = torch.load(path, map_location="cpu", weights_only=False)
state["models"].update(state["ema"])  # the EMA weights, as load_checkpoint_models(ema=True) gives them
state["ema"] = {}
del state["optimizer"]
torch.save(state, out / "unet.pt")
print(path.name, (out / "unet.pt").stat().st_size)
EOF
cp $W/train/metrics.jsonl "$OUT/"
cp $W/train/samples/*.png "$OUT/samples.png" 2>/dev/null
cd "$OUT" && split -b 15M unet.pt unet.pt.part- && rm unet.pt
ls -la "$OUT"
log done
