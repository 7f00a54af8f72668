#!/bin/bash
# One accelerator session for a celeba64-shaped model (CONFIG: celeba64 by default, or celeba64-c8), each phase
# `python -m face0 ...` exactly as on a CPU. Two modes:
# - INIT unset: a new VAE, then the U-Net (+ text encoder + projector) from scratch on its latents (run 1).
# - INIT=FILE (a `python -m face0 slim` checkpoint): no VAE phase; the U-Net, text encoder and projector
#   continue from FILE's weights as a new phase (`train --init`), on FILE's VAE.
# The U-Net phase starts with CAL steps built in-process and CAL more with --prefetch 4 (one run, so the two
# rates compare), then goes on the faster way. Its step count comes from that phase's steady rate and
# start-up time (device/phase_rate.py), so the run ends inside BUDGET seconds. docs/training.md ("One GPU
# session") has the measured runs.
#
# Prepare here (the device's working tree is limited to 64 MiB):
#   python -m face0 pack ../runs/celeba128-aug --out ../.gpu/celeba64        # 43 MB
#   mkdir -p ../.gpu/data/clip && cp ../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz ../.gpu/data/clip/
#   pip download diffusers and importlib_metadata wheels into ../.whl (the device lacks them), then
#   python device/slim_diffusers_wheel.py WHEEL ../.whl/WHEEL            # 6.4 MB -> 2.1 MB
#   python -m face0 slim CHECKPOINT --out ../.gpu/init.pt --float16       # INIT mode: 18 MB (VAE float32)
# Run there from the repository root: BUDGET=530 OUT=$OUT [INIT=.gpu/init.pt] bash training/device/train_celeba64.sh
# Env: CONFIG (a configs.py name), BUDGET (s, whole script), VAE_S (s for the VAE), VB / UB (VAE / U-Net batch), CAL (steps per
# calibration phase), LR, WARMUP, EMA, PRECISION (--bf16 or empty), PY, OUT (results, 8 files at most: the slim
# EMA checkpoint unet.pt, which holds the VAE too, and the raw weights raw16.pt in float16, each in 15 MiB
# parts; metrics.jsonl, train.log, samples.png).
set -uo pipefail
T0=$(date +%s)
BUDGET=${BUDGET:-540}
VAE_S=${VAE_S:-110}
PY=${PY:-python3}
CONFIG=${CONFIG:-celeba64}
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
CAL=${CAL:-60}
PRECISION=${PRECISION---bf16}

calc() { $PY -c "print($1)"; }
now() { date +%s.%N; }
if [ -n "${INIT:-}" ]; then
  MODEL=(--init "$ROOT/$INIT")
else
  log "smoke + VAE calibration"
  t=$(now)
  $PY -m face0 train-vae "$DATA" --config "$CONFIG" --out $W/cal-vae.pt --steps 5 --batch $VB --cache-decoded || exit 3
  t5=$(calc "$(now) - $t")
  t=$(now)
  $PY -m face0 train-vae "$DATA" --config "$CONFIG" --out $W/cal-vae.pt --steps 45 --batch $VB --cache-decoded || exit 3
  t45=$(calc "$(now) - $t")
  VAE_STEPS=$(calc "int($VAE_S * 40 / ($t45 - $t5))")
  log "VAE: 5 steps of $VB in $t5 s, 45 in $t45 s -> $VAE_STEPS steps"
  log "VAE training"
  $PY -m face0 train-vae "$DATA" --config "$CONFIG" --out $W/vae.pt --steps "$VAE_STEPS" --batch $VB \
    --lr 4e-4 --lr-warmup 200 --lr-final 2e-5 --kl-weight 1e-6 --cache-decoded --seed 0 2>&1 | tee "$OUT/train.log"
  [ -f $W/vae.pt ] || exit 4
  MODEL=(--vae $W/vae.pt)
fi

WARMUP=${WARMUP:-500}
TRAIN=(train "$DATA" --config "$CONFIG" "${MODEL[@]}" --out $W/train --global-batch $UB --lr "${LR:-4e-4}"
  --lr-warmup "$WARMUP" --lr-final 1e-5 --ema-decay "${EMA:-0.999}" --captions attributes --face-source same
  $PRECISION --cache-decoded --checkpoint-every 1000 --keep-checkpoints 2 --log-every 10 --seed 0)
rate() { $PY "$ROOT/training/device/phase_rate.py" $W/train/metrics.jsonl "$@" $UB; }  # FIRST LAST WALL
log "U-Net: $CAL steps building batches in-process"
t=$(date +%s)
timeout 240 $PY -m face0 "${TRAIN[@]}" --max-steps $CAL --validate-every 0 2>&1 | tee -a "$OUT/train.log" || exit 5
read -r in_process overhead <<<"$(rate 0 $CAL $(($(date +%s) - t)))"
log "U-Net: $CAL steps with --prefetch 4"
PREFETCH=(--prefetch 4)
t=$(date +%s)
if timeout 120 $PY -m face0 "${TRAIN[@]}" --max-steps $((2 * CAL)) --validate-every 0 "${PREFETCH[@]}" 2>&1 \
    | tee -a "$OUT/train.log"; then
  read -r prefetched overhead_p <<<"$(rate $CAL $((2 * CAL)) $(($(date +%s) - t)))"
else
  prefetched=0
fi
if [ "$(calc "$prefetched >= $in_process")" = True ]; then
  speed=$prefetched overhead=$overhead_p
else
  speed=$in_process PREFETCH=()
fi
left=$(calc "$BUDGET - ($(date +%s) - $T0) - 40 - $overhead")
MAX=$(calc "int(2 * $CAL + $speed * $left / $UB)")
log "U-Net: steady in-process $in_process, prefetch $prefetched samples/s -> ${PREFETCH[*]:-in-process}," \
  "$left s of steps -> max steps $MAX"
# Decay only after the calibration steps, which ran without it: one schedule, a function of the step.
$PY -m face0 "${TRAIN[@]}" --max-steps "$MAX" --lr-decay-from $((WARMUP > 2 * CAL ? WARMUP : 2 * CAL)) \
  --validate-every "$MAX" \
  --validation-images 8 "${PREFETCH[@]}" 2>&1 | tee -a "$OUT/train.log"

log "slim checkpoints"
LAST=$(ls $W/train/checkpoints/step-*.pt | tail -1)
$PY -m face0 slim "$LAST" --out "$OUT/unet.pt" || exit 6
$PY -m face0 slim "$LAST" --out "$OUT/raw16.pt" --float16 --no-ema || exit 6
cp $W/train/metrics.jsonl "$OUT/"
cp $W/train/samples/*.png "$OUT/samples.png" 2>/dev/null
cd "$OUT" && for f in unet.pt raw16.pt; do split -b 15M $f $f.part- && rm $f; done
ls -la "$OUT"
log done
