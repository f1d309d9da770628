#!/usr/bin/env python
"""Draw the label-validation survey's samples (paper section 4.1) into a manifest.

    python examples/survey/sample.py --dataset datasets/emomv-c [datasets/emomv-b ...] --output manifest.json
                                     [--per-dataset 10] [--seed 0] [--split train validation]
                                     [--media-dir DIR [DIR ...]]

Per dataset: half matched, half mismatched pairs, emotions balanced, no segment twice; one seeded order over
all. ``--media-dir`` (one folder for all datasets, or one per dataset) holds ``<segment id>.mp4`` (or .webm,
.mp3, ...) files; the form plays them, and names the segments where there are none. A media file must be a
regular file inside its media folder: a symlink that leads out of it (to ``/etc/passwd``, say) is refused with
one line naming it, and the manifest records each sample's media folder so that the server checks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emomv_hf.cli import flag, make_parser, run_script
from emomv_hf.io_utils import counted
from emomv_hf.reporting import dataset_key
from emomv_survey.sampling import draw_samples, read_pairs, write_manifest


@dataclass
class SampleArguments:
    dataset: list[str] = flag("built EmoMV pairs dataset folders (build_emomv.py output)")
    output: str = flag("manifest JSON to write", default="manifest.json")
    per_dataset: int = flag("samples per dataset, even (half matched)", default=10)
    seed: int = flag("seed of the draw and the order", default=0)
    split: list[str] | None = flag("splits to draw from (default: all)", default=None)
    media_dir: list[str] | None = flag(
        "media folder(s): one for all datasets or one per --dataset", default=None
    )

    def __post_init__(self) -> None:
        if self.media_dir and len(self.media_dir) not in (1, len(self.dataset)):
            raise ValueError(f"--media-dir takes 1 or {len(self.dataset)} folders, got {len(self.media_dir)}")
        names = [dataset_key(folder) for folder in self.dataset]
        if len(set(names)) != len(names):
            raise ValueError(f"--dataset folders must have distinct names, got {', '.join(names)}")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(SampleArguments, prog="sample.py", description=__doc__.splitlines()[0])
    return run_script(parser, _run, argv)


def _run(args: SampleArguments) -> int:
    names = [dataset_key(folder) for folder in args.dataset]
    pairs = {name: read_pairs(folder, args.split) for name, folder in zip(names, args.dataset, strict=True)}
    media = None
    if args.media_dir:
        folders = args.media_dir * len(names) if len(args.media_dir) == 1 else args.media_dir
        media = dict(zip(names, folders, strict=True))
    samples = draw_samples(pairs, args.per_dataset, args.seed, media)
    path = write_manifest(args.output, samples, seed=args.seed)
    with_media = sum(bool(sample.video_media and sample.music_media) for sample in samples)
    print(
        f"wrote {counted(len(samples), 'sample')} ({with_media} with video and music files) to {Path(path)}"
    )
    for sample in samples:
        print(
            f"  {sample.sample_id} {sample.dataset} {sample.label:<10} video {sample.video_segment_id} "
            f"({sample.video_emotion}), music {sample.music_segment_id} ({sample.music_emotion})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
