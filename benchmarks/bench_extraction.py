#!/usr/bin/env python
"""Feature extraction throughput, split into decoding (PyAV + the processors) and the models (SlowFast + VGGish).

    python benchmarks/bench_extraction.py [--segments 3] [--seconds 10] [--size 320x240] [--device cpu] [--threads 2]

Writes ``--segments`` synthetic music videos (PyAV: moving colour pattern + a tone, 25 fps, stereo AAC) of
``--seconds`` each, then times, per segment, what a DataLoader worker does (decode 32 sampled frames and the
audio, run the SlowFast video processor and the VGGish log-mel front end) and what the main loop does (the two
models, random weights), in the same run. Prints segments per second of each and the ratio model / decode: above
1, the models bound the pipeline (more decode workers do not help); below 1, decoding does (add
``--num-workers``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from emomv_hf.features.convert import load_extractor  # noqa: E402
from emomv_hf.features.media import VGGISH_SAMPLE_RATE, read_audio, read_video_frames  # noqa: E402
from tests.features import synthetic_media  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT of the synthetic videos")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    synthetic_media.WIDTH, synthetic_media.HEIGHT = (int(v) for v in args.size.split("x"))
    synthetic_media.FPS = 25
    (processor, slowfast), (_, vggish) = load_extractor("slowfast"), load_extractor("vggish")
    slowfast, vggish = slowfast.to(args.device), vggish.to(args.device)
    video_processor, audio_processor = processor.video_processor, processor.feature_extractor

    decode_s = model_s = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        clips = [
            synthetic_media.write_clip(Path(scratch) / f"clip{i}.mp4", args.seconds, tone_hz=300.0 + 100 * i)
            for i in range(args.segments)
        ]
        for index, clip in enumerate(clips):
            start = time.perf_counter()
            frames = read_video_frames(clip, 0.0, args.seconds, num_frames=32)
            video_inputs = video_processor(frames, return_tensors="pt")
            audio = read_audio(clip)[: int(args.seconds * VGGISH_SAMPLE_RATE)]
            examples = audio_processor.examples(audio, VGGISH_SAMPLE_RATE)
            decoded = time.perf_counter()
            with torch.no_grad():
                slowfast(**{k: v.to(args.device) for k, v in video_inputs.items()}).pooler_output.cpu()
                vggish(examples.unsqueeze(0).to(args.device)).pooler_output.cpu()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            done = time.perf_counter()
            if index or args.segments == 1:  # the first segment warms up both (allocations, kernels)
                decode_s += decoded - start
                model_s += done - decoded
    measured = max(args.segments - 1, 1)
    print(
        f"{measured} segment(s) of {args.seconds:g} s at {args.size} on {args.device} ({args.threads} threads), "
        "first one not counted:"
    )
    print(
        f"  decode + processors: {decode_s / measured:.3f} s/segment = {measured / decode_s:.2f} segments/s"
    )
    print(f"  models:              {model_s / measured:.3f} s/segment = {measured / model_s:.2f} segments/s")
    print(f"  ratio model / decode: {model_s / decode_s:.1f}")


if __name__ == "__main__":
    main()
