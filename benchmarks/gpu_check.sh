#!/usr/bin/env bash
# What only a GPU can show, in under ten minutes (book/rerun.md, "Check the box first"):
#   1. the device and the software that sees it;
#   2. one paper cell (CSQ, 64 bits, CIFAR-10 protocol I, ResNet50 224 px, bf16) trained for
#      one epoch on CUDA, encoded and evaluated, through the engine's command line;
#   3. training and encoding images/s of the paper and cpu presets against the bare
#      forward/backward of the same network (benchmarks/bench_train.py);
#   4. a two-process DistributedDataParallel run (torchrun) of a smoke cell: on two GPUs
#      with NCCL, on one GPU with both processes sharing it over gloo.
# Usage, from the repository root:
#   bash benchmarks/gpu_check.sh                   # weights: the paper's IMAGENET1K_V1
#   PRETRAINED=/w/resnet50.pth bash benchmarks/gpu_check.sh
#   PRETRAINED=random bash benchmarks/gpu_check.sh # offline box without weights: timing only
# Output: stdout, and runs/gpu_check/ (JSON of the benchmark, the engine's metrics).
# --help prints this text; any other argument is refused (exit 2).
# Without CUDA it stops at step 1 with a one-line reason (exit 2).
set -uo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "error: benchmarks/gpu_check.sh takes no arguments (got '$1'); settings go in the" \
          "environment: PRETRAINED, PYTHON, OUT_DIR (--help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${OUT_DIR:-runs/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONWARNINGS=ignore
status=0
step() { echo; echo "=== $* ($(date -u +%H:%M:%S) UTC)"; }

step "1. device"
$PY - <<'EOF' || exit 2
import sys, torch, torchvision
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, CUDA {torch.version.cuda}, "
      f"cuDNN {torch.backends.cudnn.version()}")
if not torch.cuda.is_available():
    print("error: CUDA is not available here (torch.cuda.is_available() is False): nothing to check",
          file=sys.stderr)
    sys.exit(2)
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 {torch.cuda.is_bf16_supported()}")
EOF
NGPU=$($PY -c "import torch; print(torch.cuda.device_count())")

WEIGHTS=${PRETRAINED:-IMAGENET1K_V1}
if [ "$WEIGHTS" = random ]; then
  WEIGHTS="$OUT/resnet50-random.pth"
  $PY -c "import torch, torchvision; torch.save(torchvision.models.resnet50().state_dict(), '$WEIGHTS')"
  echo "weights: a random ResNet50 state dict ($WEIGHTS): timings are valid, mAP is not"
fi

step "2. one paper cell on CUDA: csq 64 bits, cifar10-i, 1 epoch"
timeout 300 $PY -m hashlib_core.engine --scale paper --method csq --n-bits 64 --epochs 1 \
    --device cuda --pretrained "$WEIGHTS" --no-progress --json > "$OUT/paper_cell.json" \
  && cat "$OUT/paper_cell.json" || { echo "FAILED: the paper cell"; status=1; }

step "3. images/s against the bare forward/backward (bench_train.py)"
timeout 240 $PY benchmarks/bench_train.py --preset paper cpu --device cuda --json "$OUT/bench_train.json" \
  || { echo "FAILED: bench_train.py"; status=1; }

step "4. two DDP processes (torchrun) on $NGPU GPU(s)"
if [ "$NGPU" -lt 2 ]; then export HASHLIB_DIST_BACKEND=gloo; echo "one GPU: both ranks share it, gloo"; fi
timeout 180 $PY -m torch.distributed.run --standalone --nproc-per-node 2 -m hashlib_core.engine \
    --scale smoke --method csq --n-bits 16 --epochs 2 --device cuda --no-progress --json \
  > "$OUT/ddp.json" && cat "$OUT/ddp.json" || { echo "FAILED: the DDP run"; status=1; }
unset HASHLIB_DIST_BACKEND

step "done: exit $status"
exit $status
