#!/usr/bin/env bash
# Trains the Nano pack's prompt tokenizer (a SentencePiece unigram model with UMT5's special ids:
# pad 0, eos 1, unk 3; case-folded) on every training prompt of `lipar train`. The result is
# committed as resources/tokenizer/nano.model; run again only when the prompt catalogue changes.
#   packaging/make-nano-tokenizer.sh [LIPAR_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
lipar="${1:-./build/app/lipar}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$lipar" train --prompt-corpus "$tmp/corpus.txt"
spm_train --input="$tmp/corpus.txt" --model_prefix="$tmp/nano" --vocab_size=1000 \
    --hard_vocab_limit=false --model_type=unigram --pad_id=0 --eos_id=1 --unk_id=3 --bos_id=-1 \
    --normalization_rule_name=nmt_nfkc_cf --character_coverage=1.0 --num_threads=1 \
    --random_seed=0 --minloglevel=2 >/dev/null
mkdir -p resources/tokenizer
cp "$tmp/nano.model" resources/tokenizer/nano.model
echo "wrote resources/tokenizer/nano.model"
